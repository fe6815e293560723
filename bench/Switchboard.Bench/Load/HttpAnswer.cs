namespace Switchboard.Bench.Load;

/// <summary>One HTTP response as <see cref="RawHttpConnection"/> read it. The body stays in the connection's buffer.</summary>
/// <param name="Status">The status code.</param>
/// <param name="BodyLength">How many body bytes <see cref="RawHttpConnection.Body"/> holds.</param>
/// <param name="IsEventStream">True when the content type is <c>text/event-stream</c>.</param>
/// <param name="SessionId">The <c>Mcp-Session-Id</c> header, when present.</param>
/// <param name="ConnectionClose">True when the server will close the connection after this response.</param>
internal readonly record struct HttpAnswer(int Status, int BodyLength, bool IsEventStream, string? SessionId, bool ConnectionClose);
