using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Switchboard.Bench.Load;

/// <summary>
/// Pre-serialized requests for one transport: the body is a fixed prefix, the request id in decimal, and a fixed suffix,
/// so sending a request is two copies and a number format. HTTP heads are built once per connection.
/// </summary>
internal sealed class RequestTemplate
{
    public const string ModernVersion = "2026-07-28";
    public const string LegacyVersion = "2025-11-25";

    private RequestTemplate(BenchTransport transport, CallTarget target, byte[] prefix, byte[] suffix, bool hasId, string path)
    {
        Transport = transport;
        Target = target;
        BodyPrefix = prefix;
        BodySuffix = suffix;
        HasId = hasId;
        Path = path;
        ExpectedText = Encoding.UTF8.GetBytes(target.ExpectedText);
    }

    public BenchTransport Transport { get; }

    public CallTarget Target { get; }

    public byte[] BodyPrefix { get; }

    public byte[] BodySuffix { get; }

    /// <summary>False for REST, whose body carries no id.</summary>
    public bool HasId { get; }

    /// <summary>The HTTP path (or the WebSocket path) requests go to.</summary>
    public string Path { get; }

    /// <summary>The UTF-8 text a correct answer carries.</summary>
    public byte[] ExpectedText { get; }

    public static RequestTemplate Create(BenchTransport transport, CallTarget target, string? mcpPath = null, string? wsPath = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var modern = transport is BenchTransport.McpModern or BenchTransport.WsModern or BenchTransport.RawHttp or BenchTransport.RawWs;
        var call = ",\"method\":\"tools/call\",\"params\":{\"name\":" + Quote(target.Tool)
            + ",\"arguments\":{" + Quote(target.Argument) + ":" + Quote(target.Text) + "}"
            + (modern ? ",\"_meta\":" + ModernMeta : string.Empty)
            + "}}";
        var prefix = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":");
        var suffix = Encoding.UTF8.GetBytes(call);
        return transport switch
        {
            BenchTransport.Rest => new RequestTemplate(
                transport,
                target,
                Encoding.UTF8.GetBytes("{" + Quote(target.Argument) + ":" + Quote(target.Text) + "}"),
                [],
                hasId: false,
                "/v1/tools/" + Uri.EscapeDataString(target.Tool) + "/call"),
            BenchTransport.RawHttp => new RequestTemplate(transport, target, prefix, suffix, hasId: true, "/echo"),
            BenchTransport.RawWs => new RequestTemplate(transport, target, prefix, suffix, hasId: true, wsPath ?? "/ws"),
            BenchTransport.WsModern or BenchTransport.WsLegacy => new RequestTemplate(transport, target, prefix, suffix, hasId: true, wsPath ?? "/ws"),
            _ => new RequestTemplate(transport, target, prefix, suffix, hasId: true, mcpPath ?? "/mcp"),
        };
    }

    /// <summary>The 2026-07-28 per-request <c>_meta</c> object.</summary>
    public const string ModernMeta = "{\"io.modelcontextprotocol/protocolVersion\":\"" + ModernVersion + "\","
        + "\"io.modelcontextprotocol/clientCapabilities\":{},"
        + "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"switchboard-bench\",\"version\":\"1.0.0\"}}";

    /// <summary>The 2025-11-25 <c>initialize</c> request.</summary>
    public static string InitializeBody(long id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id.ToString(CultureInfo.InvariantCulture)
        + ",\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + LegacyVersion + "\",\"capabilities\":{},"
        + "\"clientInfo\":{\"name\":\"switchboard-bench\",\"version\":\"1.0.0\"}}}";

    public const string InitializedNotification = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

    public int BodyLength(long id) => BodyPrefix.Length + (HasId ? DigitCount(id) : 0) + BodySuffix.Length;

    /// <summary>Writes the body for <paramref name="id"/>; returns the bytes written.</summary>
    public int WriteBody(Span<byte> destination, long id)
    {
        BodyPrefix.CopyTo(destination);
        var written = BodyPrefix.Length;
        if (HasId)
        {
            Utf8Formatter.TryFormat(id, destination[written..], out var digits);
            written += digits;
        }

        BodySuffix.CopyTo(destination[written..]);
        return written + BodySuffix.Length;
    }

    /// <summary>
    /// The request line and headers up to (not including) the <c>Content-Length</c> value, for one connection.
    /// <paramref name="sessionId"/> is the 2025-11-25 session; <paramref name="extraHeaders"/> are sent as given.
    /// </summary>
    public byte[] BuildHead(string hostHeader, string? sessionId, IReadOnlyList<KeyValuePair<string, string>> extraHeaders)
        => BuildHead(Path, hostHeader, Transport, Target.Tool, sessionId, extraHeaders);

    public static byte[] BuildHead(
        string path,
        string hostHeader,
        BenchTransport transport,
        string? tool,
        string? sessionId,
        IReadOnlyList<KeyValuePair<string, string>> extraHeaders)
    {
        ArgumentNullException.ThrowIfNull(extraHeaders);
        var head = new StringBuilder(256)
            .Append("POST ").Append(path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(hostHeader).Append("\r\n")
            .Append("Content-Type: application/json\r\n");
        if (transport is BenchTransport.McpModern or BenchTransport.McpLegacy)
        {
            head.Append("Accept: application/json, text/event-stream\r\n");
        }
        else
        {
            head.Append("Accept: application/json\r\n");
        }

        if (transport == BenchTransport.McpModern)
        {
            head.Append("MCP-Protocol-Version: ").Append(ModernVersion).Append("\r\n")
                .Append("Mcp-Method: tools/call\r\n")
                .Append("Mcp-Name: ").Append(tool).Append("\r\n");
        }

        if (sessionId is not null)
        {
            head.Append("Mcp-Session-Id: ").Append(sessionId).Append("\r\n")
                .Append("MCP-Protocol-Version: ").Append(LegacyVersion).Append("\r\n");
        }

        foreach (var (name, value) in extraHeaders)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("Content-Length: ");
        return Encoding.ASCII.GetBytes(head.ToString());
    }

    /// <summary>Writes a whole HTTP request (head, length, blank line, body) into <paramref name="buffer"/>, growing it when needed.</summary>
    public static int WriteRequest(ref byte[] buffer, byte[] head, RequestTemplate? template, long id, ReadOnlySpan<byte> fixedBody = default)
    {
        ArgumentNullException.ThrowIfNull(head);
        var bodyLength = template?.BodyLength(id) ?? fixedBody.Length;
        var needed = head.Length + 16 + bodyLength;
        if (buffer.Length < needed)
        {
            buffer = new byte[Math.Max(needed, buffer.Length * 2)];
        }

        var span = buffer.AsSpan();
        head.CopyTo(span);
        var written = head.Length;
        Utf8Formatter.TryFormat(bodyLength, span[written..], out var digits);
        written += digits;
        "\r\n\r\n"u8.CopyTo(span[written..]);
        written += 4;
        if (template is not null)
        {
            written += template.WriteBody(span[written..], id);
        }
        else
        {
            fixedBody.CopyTo(span[written..]);
            written += fixedBody.Length;
        }

        return written;
    }

    private static int DigitCount(long value)
    {
        var digits = value < 0 ? 2 : 1;
        value = Math.Abs(value);
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }

    private static string Quote(string value) => "\"" + JsonEncodedText.Encode(value).ToString() + "\"";
}
