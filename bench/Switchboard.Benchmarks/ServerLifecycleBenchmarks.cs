using System.Text.Json.Nodes;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Benchmarks;

/// <summary>
/// What it costs to serve a request with an MCP SDK server made for it (what a quiet 2026-07-28 WebSocket connection
/// does, and what the SDK's Streamable HTTP handler does per 2026-07-28 request) against a server that keeps running:
/// the gateway's own server options, one <c>ping</c> through an in-memory transport, and for the fresh server its start,
/// stop and dispose. The difference is the price of letting a connection's server go.
/// </summary>
[MemoryDiagnoser]
public class ServerLifecycleBenchmarks
{
    private GatewayFixture _fixture = null!;
    private McpServerOptions _options = null!;
    private MemoryTransport _runningTransport = null!;
    private McpServer _running = null!;
    private Task _runningLoop = null!;
    private long _id;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _fixture = await GatewayFixture.CreateAsync();
        _options = _fixture.Get<IOptions<McpServerOptions>>().Value;
        _runningTransport = new MemoryTransport();
        _running = McpServer.Create(_runningTransport, _options, NullLoggerFactory.Instance);
        _runningLoop = _running.RunAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _runningTransport.Complete();
        await _runningLoop;
        await _running.DisposeAsync();
        await _fixture.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "ping on a running server")]
    public Task<JsonRpcMessage> PingOnRunningServer() => _runningTransport.RequestAsync(Ping());

    [Benchmark(Description = "ping on a server made, run and disposed for it")]
    public async Task<JsonRpcMessage> PingOnFreshServer()
    {
        var transport = new MemoryTransport();
        await using var server = McpServer.Create(transport, _options, NullLoggerFactory.Instance);
        var loop = server.RunAsync();
        var answer = await transport.RequestAsync(Ping());
        transport.Complete();
        await loop;
        return answer;
    }

    private JsonRpcRequest Ping() => new() { Id = new RequestId(Interlocked.Increment(ref _id)), Method = RequestMethods.Ping, Params = new JsonObject() };

    /// <summary>An in-memory transport: requests go in through a channel, the one answer awaited comes back through a completion source.</summary>
    private sealed class MemoryTransport : ITransport
    {
        private readonly Channel<JsonRpcMessage> _incoming = Channel.CreateUnbounded<JsonRpcMessage>(new UnboundedChannelOptions { SingleReader = true });
        private TaskCompletionSource<JsonRpcMessage>? _answer;

        public string? SessionId => "bench";

        public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

        public Task<JsonRpcMessage> RequestAsync(JsonRpcRequest request)
        {
            var answer = new TaskCompletionSource<JsonRpcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            _answer = answer;
            _incoming.Writer.TryWrite(request);
            return answer.Task;
        }

        public void Complete() => _incoming.Writer.TryComplete();

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
        {
            if (message is JsonRpcResponse or JsonRpcError)
            {
                _answer?.TrySetResult(message);
            }

            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Complete();
            return ValueTask.CompletedTask;
        }
    }
}
