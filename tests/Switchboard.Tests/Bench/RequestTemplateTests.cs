using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Bench.Load;

namespace Switchboard.Tests.Bench;

/// <summary>The pre-serialized requests are valid JSON-RPC with the id in place and the text escaped.</summary>
public sealed class RequestTemplateTests
{
    [Theory]
    [InlineData(BenchTransport.McpModern, true)]
    [InlineData(BenchTransport.McpLegacy, false)]
    [InlineData(BenchTransport.WsModern, true)]
    [InlineData(BenchTransport.WsLegacy, false)]
    public void WriteBody_IsAToolsCallWithTheIdAndMetaForTheEra(BenchTransport transport, bool hasMeta)
    {
        var sut = RequestTemplate.Create(transport, new CallTarget("text_echo", "text", "quote \" and 你好", "x"));
        var buffer = new byte[sut.BodyLength(12345)];

        var written = sut.WriteBody(buffer, 12345);

        Assert.Equal(buffer.Length, written);
        var body = JsonNode.Parse(buffer)!.AsObject();
        Assert.Equal(12345, body["id"]!.GetValue<long>());
        Assert.Equal("tools/call", body["method"]!.GetValue<string>());
        Assert.Equal("quote \" and 你好", body["params"]!["arguments"]!["text"]!.GetValue<string>());
        Assert.Equal(hasMeta, body["params"]!["_meta"] is not null);
    }

    [Fact]
    public void WriteRequest_Rest_HasContentLengthOfTheBody()
    {
        var sut = RequestTemplate.Create(BenchTransport.Rest, CallTarget.TextEcho);
        var head = sut.BuildHead("127.0.0.1:1", null, [new("Authorization", "Bearer t")]);
        var buffer = new byte[8];

        var length = RequestTemplate.WriteRequest(ref buffer, head, sut, 1);

        var text = Encoding.UTF8.GetString(buffer, 0, length);
        Assert.StartsWith("POST /v1/tools/text_echo/call HTTP/1.1\r\n", text, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer t\r\n", text, StringComparison.Ordinal);
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", text, StringComparison.Ordinal);
        Assert.Equal("""{"text":"hello from switchboard-bench"}""", body);
    }
}
