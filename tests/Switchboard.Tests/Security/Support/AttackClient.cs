using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.Support;

/// <summary>The three network transports a token can be presented on.</summary>
public enum AttackTransport
{
    /// <summary>Streamable HTTP, <c>POST /mcp</c> with a 2026-07-28 <c>tools/call</c>.</summary>
    Mcp,

    /// <summary>WebSocket upgrade at <c>/ws</c> (subprotocol <c>mcp</c>), then a <c>tools/call</c> frame.</summary>
    WebSocket,

    /// <summary>REST, <c>POST /v1/tools/{name}/call</c>.</summary>
    Rest,
}

/// <summary>How a request carries (or fails to carry) credentials.</summary>
public sealed record Presentation
{
    /// <summary>Values of the <c>Authorization</c> header, sent as given.</summary>
    public string? Authorization { get; init; }

    public string? QueryToken { get; init; }

    public string? FormToken { get; init; }

    /// <summary>Extra WebSocket subprotocol entries (after <c>mcp</c>).</summary>
    public IReadOnlyList<string> SubProtocols { get; init; } = [];

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>The tool to call (the plugin's exposed name).</summary>
    public string Tool { get; init; } = "vault_read";

    public JsonObject Arguments { get; init; } = [];

    public static Presentation Bearer(string token) => new() { Authorization = "Bearer " + token };

    public static Presentation Raw(string authorization) => new() { Authorization = authorization };
}

/// <summary>What came back: the status, the challenge, the body; for a WebSocket also the selected subprotocol header.</summary>
public sealed record Observation(int Status, string? Challenge, string Body, string? SubProtocolHeader, string? ContentType = null)
{
    /// <summary>The JSON-RPC message or problem document in the body (the answering SSE event for an SSE response).</summary>
    public JsonObject? Json => ContentType == "text/event-stream"
        ? new McpHttpResponse(Status, ContentType, Body, null).Message
        : Body.Length > 0 && Body[0] == '{' ? JsonNode.Parse(Body) as JsonObject : null;
}

/// <summary>Sends a <see cref="Presentation"/> to an <see cref="AttackTarget"/> over one transport, with real clients.</summary>
public static class AttackClient
{
    public static Task<Observation> SendAsync(AttackTarget target, AttackTransport transport, Presentation presentation, CancellationToken cancellationToken)
        => transport switch
        {
            AttackTransport.Mcp => SendMcpAsync(target, presentation, cancellationToken),
            AttackTransport.Rest => SendRestAsync(target, presentation, cancellationToken),
            _ => SendWebSocketAsync(target, presentation, cancellationToken),
        };

    private static async Task<Observation> SendMcpAsync(AttackTarget target, Presentation presentation, CancellationToken cancellationToken)
    {
        var endpoint = WithQuery(target.Server.McpUri, presentation);
        var call = new JsonObject { ["name"] = presentation.Tool, ["arguments"] = presentation.Arguments.DeepClone() };
        using var request = McpHttp.ModernRequest(endpoint, "tools/call", call);
        return await SendHttpAsync(target, request, presentation, cancellationToken);
    }

    private static async Task<Observation> SendRestAsync(AttackTarget target, Presentation presentation, CancellationToken cancellationToken)
    {
        var endpoint = WithQuery(new Uri(target.Server.BaseUri, $"/v1/tools/{Uri.EscapeDataString(presentation.Tool)}/call"), presentation);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(presentation.Arguments.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        return await SendHttpAsync(target, request, presentation, cancellationToken);
    }

    private static async Task<Observation> SendHttpAsync(AttackTarget target, HttpRequestMessage request, Presentation presentation, CancellationToken cancellationToken)
    {
        if (presentation.Authorization is { } authorization)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
        }

        foreach (var (name, value) in presentation.Headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }

        if (presentation.FormToken is { } formToken)
        {
            request.Content = new FormUrlEncodedContent([new("access_token", formToken)]);
        }

        using var response = await target.Http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var challenge = response.Headers.WwwAuthenticate.Count > 0 ? string.Join(", ", response.Headers.GetValues("WWW-Authenticate")) : null;
        return new Observation((int)response.StatusCode, challenge, body, null, response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<Observation> SendWebSocketAsync(AttackTarget target, Presentation presentation, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.AddSubProtocol("mcp");
        foreach (var entry in presentation.SubProtocols)
        {
            socket.Options.AddSubProtocol(entry);
        }

        if (presentation.Authorization is { } authorization)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        foreach (var (name, value) in presentation.Headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        var endpoint = WithQuery(McpWebSocket.EndpointOf(target.Server.BaseUri), presentation);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
        }
        catch (WebSocketException)
        {
            return new Observation((int)socket.HttpStatusCode, Header(socket, "WWW-Authenticate"), string.Empty, Header(socket, "Sec-WebSocket-Protocol"));
        }

        var selected = Header(socket, "Sec-WebSocket-Protocol");
        var frame = McpWebSocket.Call("attack", presentation.Tool, (JsonObject)presentation.Arguments.DeepClone(), McpHttp.ModernMeta());
        await socket.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken);
        var reply = await ReceiveTextAsync(socket, cancellationToken);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return new Observation((int)HttpStatusCode.SwitchingProtocols, null, reply, selected);
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return string.Empty;
            }

            message.Write(buffer.AsSpan(0, result.Count));
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    private static string? Header(ClientWebSocket socket, string name)
        => socket.HttpResponseHeaders?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value is { } values
            ? string.Join(", ", values)
            : null;

    private static Uri WithQuery(Uri endpoint, Presentation presentation)
        => presentation.QueryToken is { } token
            ? new UriBuilder(endpoint) { Query = "access_token=" + Uri.EscapeDataString(token) }.Uri
            : endpoint;
}
