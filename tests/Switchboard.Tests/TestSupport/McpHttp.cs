using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.TestSupport;

/// <summary>
/// Raw MCP over HTTP, for tests that must see exactly what goes on the wire (status codes, headers, error bodies).
/// Responses may be JSON or a short SSE stream; <see cref="McpHttpResponse.Message"/> returns the JSON-RPC message
/// that answers the request either way.
/// </summary>
public static class McpHttp
{
    public const string Modern = "2026-07-28";
    public const string Legacy = "2025-11-25";

    public static JsonObject ModernMeta() => new()
    {
        ["io.modelcontextprotocol/protocolVersion"] = Modern,
        ["io.modelcontextprotocol/clientCapabilities"] = new JsonObject(),
        ["io.modelcontextprotocol/clientInfo"] = new JsonObject { ["name"] = "switchboard-tests", ["version"] = "1.0.0" },
    };

    /// <summary>Builds a 2026-07-28 request with the headers the revision requires.</summary>
    public static HttpRequestMessage ModernRequest(Uri endpoint, string method, JsonObject? parameters = null, object? id = null, string? name = null)
    {
        parameters ??= [];
        parameters["_meta"] ??= ModernMeta();
        var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = JsonValue.Create(id ?? 1), ["method"] = method, ["params"] = parameters };
        var request = Post(endpoint, body.ToJsonString());
        request.Headers.Add("MCP-Protocol-Version", Modern);
        request.Headers.Add("Mcp-Method", method);
        var headerName = name ?? (parameters["name"] as JsonValue)?.GetValue<string>();
        if (headerName is not null && method is "tools/call")
        {
            request.Headers.Add("Mcp-Name", headerName);
        }

        return request;
    }

    public static HttpRequestMessage Post(Uri endpoint, string body, string? sessionId = null, string? protocolVersion = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (sessionId is not null)
        {
            request.Headers.Add("Mcp-Session-Id", sessionId);
        }

        if (protocolVersion is not null)
        {
            request.Headers.Add("MCP-Protocol-Version", protocolVersion);
        }

        return request;
    }

    public static async Task<McpHttpResponse> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var sessionId = response.Headers.TryGetValues("Mcp-Session-Id", out var values) ? values.First() : null;
        return new McpHttpResponse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, sessionId);
    }

    /// <summary>Runs the 2025-11-25 handshake and returns the session id.</summary>
    public static async Task<string> InitializeLegacySessionAsync(HttpClient client, Uri endpoint, CancellationToken cancellationToken)
    {
        var init = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = 1,
            ["method"] = "initialize",
            ["params"] = new JsonObject
            {
                ["protocolVersion"] = Legacy,
                ["capabilities"] = new JsonObject(),
                ["clientInfo"] = new JsonObject { ["name"] = "switchboard-tests", ["version"] = "1.0.0" },
            },
        };
        var response = await SendAsync(client, Post(endpoint, init.ToJsonString()), cancellationToken);
        Assert.Equal(200, response.Status);
        Assert.NotNull(response.SessionId);
        Assert.Equal(Legacy, response.Message!["result"]!["protocolVersion"]!.GetValue<string>());
        var initialized = await SendAsync(
            client,
            Post(endpoint, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", response.SessionId, Legacy),
            cancellationToken);
        Assert.Equal(202, initialized.Status);
        return response.SessionId!;
    }
}

public sealed record McpHttpResponse(int Status, string? ContentType, string Body, string? SessionId)
{
    /// <summary>The JSON-RPC message in the body (the last <c>data:</c> event for SSE), or null when there is none.</summary>
    public JsonObject? Message
    {
        get
        {
            if (string.IsNullOrWhiteSpace(Body))
            {
                return null;
            }

            if (ContentType == "text/event-stream")
            {
                JsonObject? last = null;
                foreach (var line in Body.Split('\n'))
                {
                    if (line.StartsWith("data:", StringComparison.Ordinal) && line.Length > 5)
                    {
                        var node = JsonNode.Parse(line[5..].Trim()) as JsonObject;
                        if (node is not null && (node.ContainsKey("result") || node.ContainsKey("error")))
                        {
                            last = node;
                        }
                    }
                }

                return last;
            }

            return JsonNode.Parse(Body) as JsonObject;
        }
    }

    public JsonObject Result => Message?["result"] as JsonObject ?? throw new InvalidOperationException("No result in: " + Body);

    public JsonObject Error => Message?["error"] as JsonObject ?? throw new InvalidOperationException("No error in: " + Body);

    public int ErrorCode => Error["code"]!.GetValue<int>();

    public static JsonDocument Parse(string json) => JsonDocument.Parse(json);
}
