using System.ComponentModel;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using ModelContextProtocol.Server;
using Switchboard.Tests.TestSupport;
using Switchboard.Tests.Transports.Rest;

namespace Switchboard.Tests.Security;

/// <summary>The transports a permission test runs over; each carries the bearer token its own way.</summary>
public enum SecuredTransport
{
    /// <summary>Streamable HTTP, 2026-07-28 (stateless, Mcp-Method/Mcp-Name headers).</summary>
    HttpModern,

    /// <summary>Streamable HTTP, 2025-11-25 session.</summary>
    HttpLegacy,

    /// <summary>WebSocket, token in the Authorization header of the upgrade.</summary>
    WebSocket,

    /// <summary>REST <c>/v1</c>.</summary>
    Rest,
}

/// <summary>How one request ended, in terms every transport can express.</summary>
public sealed record CallAnswer(int HttpStatus, int? ErrorCode, string? ErrorMessage, bool IsError, string? Text, string? WwwAuthenticate)
{
    /// <summary>The tool ran and returned a normal result.</summary>
    public bool Succeeded => HttpStatus == 200 && ErrorCode is null && !IsError;

    /// <summary>Refused for want of a scope: HTTP 403 before the transport, or the pipeline's -32003 / REST 403.</summary>
    public bool MissingScope => HttpStatus == 403 || ErrorCode == -32003;

    /// <summary>Answered as an unknown tool: -32602 in MCP, 404 in REST.</summary>
    public bool UnknownTool => ErrorCode == -32602 || HttpStatus == 404;
}

/// <summary>Lists and calls tools as one caller over one transport.</summary>
public sealed class SecuredClient : IAsyncDisposable
{
    private readonly SecuredTransport _transport;
    private readonly SwitchboardTestServer _server;
    private readonly HttpClient _http;
    private McpWebSocket? _socket;
    private string? _session;
    private int _nextId;

    private SecuredClient(SecuredTransport transport, SwitchboardTestServer server, string token)
    {
        _transport = transport;
        _server = server;
        Token = token;
        _http = server.CreateHttpClient(token);
    }

    public string Token { get; }

    public static async Task<SecuredClient> ConnectAsync(SecuredTransport transport, SwitchboardTestServer server, string token, CancellationToken cancellationToken)
    {
        var client = new SecuredClient(transport, server, token);
        switch (transport)
        {
            case SecuredTransport.HttpLegacy:
                client._session = await McpHttp.InitializeLegacySessionAsync(client._http, server.McpUri, cancellationToken);
                break;
            case SecuredTransport.WebSocket:
                client._socket = await McpWebSocket.ConnectAsync(server.BaseUri, cancellationToken, bearerToken: token);
                await client._socket.InitializeAsync(cancellationToken);
                break;
        }

        return client;
    }

    /// <summary>The names <c>tools/list</c> shows this caller (all pages).</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        string? cursor = null;
        do
        {
            var parameters = cursor is null ? new JsonObject() : new JsonObject { ["cursor"] = cursor };
            JsonObject page;
            if (_transport == SecuredTransport.Rest)
            {
                var response = await RestHttp.GetAsync(_http, cursor is null ? "/v1/tools" : "/v1/tools?cursor=" + Uri.EscapeDataString(cursor));
                Assert.Equal(HttpStatusCode.OK, response.Status);
                page = response.Body;
            }
            else
            {
                var message = await SendAsync("tools/list", parameters, name: null, cancellationToken);
                page = Assert.IsType<JsonObject>(message.Message["result"]);
            }

            names.AddRange(page["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return names;
    }

    public async Task<CallAnswer> CallAsync(string tool, JsonObject arguments, CancellationToken cancellationToken)
    {
        if (_transport == SecuredTransport.Rest)
        {
            var response = await RestHttp.CallAsync(_http, tool, arguments.ToJsonString());
            var challenge = response.Headers.WwwAuthenticate.Count > 0 ? response.Headers.WwwAuthenticate.ToString() : null;
            if (response.Status != HttpStatusCode.OK)
            {
                return new CallAnswer((int)response.Status, null, response.Json?["detail"]?.GetValue<string>(), false, null, challenge);
            }

            return new CallAnswer(200, null, null, response.Body["isError"]?.GetValue<bool>() == true, FirstText(response.Body), challenge);
        }

        var answer = await SendAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments.DeepClone() }, tool, cancellationToken);
        if (answer.Message["error"] is JsonObject error)
        {
            return new CallAnswer(answer.Status, error["code"]!.GetValue<int>(), error["message"]?.GetValue<string>(), false, null, answer.Challenge);
        }

        var result = Assert.IsType<JsonObject>(answer.Message["result"]);
        return new CallAnswer(answer.Status, null, null, result["isError"]?.GetValue<bool>() == true, FirstText(result), answer.Challenge);
    }

    private static string? FirstText(JsonObject result) => result["content"]?.AsArray().FirstOrDefault()?["text"]?.GetValue<string>();

    private async Task<(int Status, JsonObject Message, string? Challenge)> SendAsync(string method, JsonObject parameters, string? name, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        if (_transport == SecuredTransport.WebSocket)
        {
            await _socket!.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters }, cancellationToken);
            var (response, _) = await _socket.ReceiveResponseAsync(id, cancellationToken);
            return (200, response, null);
        }

        var request = _transport == SecuredTransport.HttpModern
            ? McpHttp.ModernRequest(_server.McpUri, method, parameters, id, name)
            : McpHttp.Post(_server.McpUri, new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString(), _session, McpHttp.Legacy);
        using (request)
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var challenge = response.Headers.WwwAuthenticate.Count > 0 ? response.Headers.WwwAuthenticate.ToString() : null;
            var parsed = new McpHttpResponse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, null);
            return ((int)response.StatusCode, parsed.Message ?? throw new InvalidOperationException("No JSON-RPC message in: " + text), challenge);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket is not null)
        {
            await _socket.CloseAsync(CancellationToken.None);
            await _socket.DisposeAsync();
        }

        _http.Dispose();
    }
}

/// <summary>Counts what actually ran, so refusals can be shown to have run nothing.</summary>
public sealed class BillingLedger
{
    private int _refunds;
    private int _vaultReads;

    public int Refunds => Volatile.Read(ref _refunds);

    public int VaultReads => Volatile.Read(ref _vaultReads);

    public void RecordRefund() => Interlocked.Increment(ref _refunds);

    public void RecordVaultRead() => Interlocked.Increment(ref _vaultReads);
}

/// <summary>A plugin whose tools differ in risk, so grants with argument rules have something to decide.</summary>
[McpServerToolType]
public sealed class BillingTools(BillingLedger ledger)
{
    public const string PluginName = "billing";

    [McpServerTool(Name = "refund"), Description("Refunds an amount to a customer.")]
    public string Refund(double amount, string currency)
    {
        ledger.RecordRefund();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"refunded {amount} {currency}");
    }

    [McpServerTool(Name = "balance"), Description("Returns the balance.")]
    public static string Balance() => "balance 42";
}

/// <summary>A plugin configured for one tenant only.</summary>
[McpServerToolType]
public sealed class VaultTools(BillingLedger ledger)
{
    public const string PluginName = "vault";

    [McpServerTool(Name = "read"), Description("Reads the tenant's vault.")]
    public string Read()
    {
        ledger.RecordVaultRead();
        return "vault contents";
    }
}

/// <summary>Helpers for WebSocket upgrades whose refusal is the point of the test.</summary>
public static class WebSocketUpgrade
{
    /// <summary>Attempts an upgrade and returns the HTTP status of the refusal (or 101 when it was accepted).</summary>
    public static async Task<int> StatusAsync(Uri baseUri, string? bearerToken, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mcp");
        socket.Options.CollectHttpResponseDetails = true;
        if (bearerToken is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + bearerToken);
        }

        try
        {
            await socket.ConnectAsync(McpWebSocket.EndpointOf(baseUri), cancellationToken);
            return (int)socket.HttpStatusCode;
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
    }
}
