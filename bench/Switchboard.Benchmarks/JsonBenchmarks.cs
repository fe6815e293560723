using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Switchboard.Benchmarks;

/// <summary>
/// JSON handling of one <c>tools/call</c> as the MCP SDK does it for every request: read the JSON-RPC message, bind
/// the call's parameters, write the result.
/// </summary>
[MemoryDiagnoser]
public class JsonBenchmarks
{
    private static readonly byte[] s_modernRequest = Encoding.UTF8.GetBytes(
        """{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"text_echo","arguments":{"text":"hello from switchboard-bench"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"switchboard-bench","version":"1.0.0"}}}}""");

    private static readonly byte[] s_legacyRequest = Encoding.UTF8.GetBytes(
        """{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"text_echo","arguments":{"text":"hello from switchboard-bench"}}}""");

    private JsonRpcRequest _request = null!;
    private CallToolResult _result = null!;
    private readonly MemoryStream _buffer = new();

    [GlobalSetup]
    public void Setup()
    {
        _request = (JsonRpcRequest)JsonSerializer.Deserialize(s_modernRequest, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage)))!;
        _result = new CallToolResult { Content = [new TextContentBlock { Text = "hello from switchboard-bench" }] };
    }

    [Benchmark]
    public JsonRpcMessage? ReadRequest_2026_07_28()
        => (JsonRpcMessage?)JsonSerializer.Deserialize(s_modernRequest, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage)));

    [Benchmark]
    public JsonRpcMessage? ReadRequest_2025_11_25()
        => (JsonRpcMessage?)JsonSerializer.Deserialize(s_legacyRequest, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage)));

    [Benchmark]
    public CallToolRequestParams? BindCallParams()
        => (CallToolRequestParams?)JsonSerializer.Deserialize(_request.Params, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolRequestParams)));

    [Benchmark]
    public long WriteResponse()
    {
        _buffer.SetLength(0);
        var response = new JsonRpcResponse { Id = new RequestId(42), Result = JsonSerializer.SerializeToNode(_result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult))) };
        JsonSerializer.Serialize(_buffer, response, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage)));
        return _buffer.Length;
    }
}
