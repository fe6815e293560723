using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Transports.Mcp;

/// <summary>
/// An MCP SDK server that no client is connected to. In-process tools are SDK tools and need an MCP request context to
/// run; callers that do not speak MCP (REST) run them inside this server. Notifications the tool sends (progress,
/// logging) are dropped; a request to the client (sampling, elicitation, roots) fails at once with a clear message
/// instead of waiting for an answer that cannot come.
/// </summary>
internal sealed class DetachedMcpServer(IOptionsFactory<McpServerOptions> optionsFactory, ILoggerFactory loggerFactory, IServiceProvider services) : IAsyncDisposable
{
    private readonly Lazy<(McpServer Server, DetachedTransport Transport)> _server = new(() =>
    {
        var transport = new DetachedTransport();
        return (McpServer.Create(transport, optionsFactory.Create(Options.DefaultName), loggerFactory, services), transport);
    });

    public McpServer Server => _server.Value.Server;

    public async ValueTask DisposeAsync()
    {
        if (_server.IsValueCreated)
        {
            await _server.Value.Server.DisposeAsync();
            await _server.Value.Transport.DisposeAsync();
        }
    }

    /// <summary>A transport with no peer: nothing is read, notifications go nowhere, requests fail.</summary>
    private sealed class DetachedTransport : ITransport
    {
        private readonly Channel<JsonRpcMessage> _incoming = Channel.CreateBounded<JsonRpcMessage>(1);

        public string? SessionId => null;

        public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
        {
            if (message is JsonRpcRequest)
            {
                throw new McpException("This caller cannot be asked for input (sampling, elicitation or roots): it did not connect over MCP.");
            }

            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _incoming.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
