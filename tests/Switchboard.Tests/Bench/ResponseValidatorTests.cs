using System.Text;
using Switchboard.Bench.Load;

namespace Switchboard.Tests.Bench;

/// <summary>The load generator's answer checks: what counts as a correct answer and how each error is classified.</summary>
public sealed class ResponseValidatorTests
{
    private static readonly byte[] s_hello = "hello"u8.ToArray();

    private static CallCheck Check(string json, long id = 7)
        => ResponseValidator.CheckJsonRpc(Encoding.UTF8.GetBytes(json), id, s_hello, out _);

    [Fact]
    public void CheckJsonRpc_ResultWithTextAndId_IsOk()
        => Assert.Equal(CallCheck.Ok, Check("""{"result":{"content":[{"type":"text","text":"hello"}],"_meta":{"x":1}},"id":7,"jsonrpc":"2.0"}"""));

    [Fact]
    public void CheckJsonRpc_IdFirstAndEscapedText_IsOk()
        => Assert.Equal(CallCheck.Ok, Check("""{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hel\u006Co"}]}}"""));

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"hello"}]}}""", CallCheck.WrongId)]
    [InlineData("""{"jsonrpc":"2.0","id":"7","result":{"content":[{"type":"text","text":"hello"}]}}""", CallCheck.WrongId)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool"}}""", CallCheck.JsonRpcError)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}""", CallCheck.JsonRpcError)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hello"}],"isError":true}}""", CallCheck.ToolError)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"goodbye"}]}}""", CallCheck.WrongContent)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{}}""", CallCheck.WrongContent)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hel""", CallCheck.Malformed)]
    [InlineData("""not json""", CallCheck.Malformed)]
    public void CheckJsonRpc_BadAnswers_AreClassified(string json, CallCheck expected) => Assert.Equal(expected, Check(json));

    [Fact]
    public void CheckJsonRpc_Notification_IsNotAResponse()
    {
        ResponseValidator.CheckJsonRpc("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"""u8, 7, s_hello, out var isResponse);

        Assert.False(isResponse);
    }

    [Fact]
    public void CheckEventStream_SkipsNotificationsAndReadsTheResponse()
    {
        var body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n"
            + "event: message\r\ndata: {\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello\"}]},\"id\":7,\"jsonrpc\":\"2.0\"}\r\n\r\n";

        Assert.Equal(CallCheck.Ok, ResponseValidator.CheckEventStream(Encoding.UTF8.GetBytes(body), 7, s_hello));
    }

    [Fact]
    public void CheckEventStream_PrimingEventWithEmptyData_IsSkipped()
    {
        // The TypeScript SDK server opens every stream with an event id and an empty data field before the answer.
        var body = "id: 98060df9\ndata: \n\nevent: message\nid: a07994be\ndata: {\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello\"}]},\"jsonrpc\":\"2.0\",\"id\":7}\n\n";

        Assert.Equal(CallCheck.Ok, ResponseValidator.CheckEventStream(Encoding.UTF8.GetBytes(body), 7, s_hello));
    }

    [Fact]
    public void CheckEventStream_NoResponse_IsMalformed()
        => Assert.Equal(CallCheck.Malformed, ResponseValidator.CheckEventStream(": keep-alive\n\n"u8, 7, s_hello));

    [Theory]
    [InlineData("""{"content":[{"type":"text","text":"hello"}]}""", CallCheck.Ok)]
    [InlineData("""{"content":[{"type":"text","text":"hello"}],"isError":true}""", CallCheck.ToolError)]
    [InlineData("""{"content":[{"type":"text","text":"other"}]}""", CallCheck.WrongContent)]
    [InlineData("""[1,2]""", CallCheck.Malformed)]
    public void CheckToolResult_RestBodies_AreClassified(string json, CallCheck expected)
        => Assert.Equal(expected, ResponseValidator.CheckToolResult(Encoding.UTF8.GetBytes(json), s_hello));

    [Fact]
    public void TryReadResponseId_ServerRequest_IsNotAnAnswer()
        => Assert.False(ResponseValidator.TryReadResponseId("""{"jsonrpc":"2.0","id":3,"method":"ping"}"""u8, out _));
}
