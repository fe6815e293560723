using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.Stdio;

/// <summary>
/// Runs the one MCP session on standard input and output, and stops the application when it ends. It plays the part of
/// the SDK's own single-session host (<c>WithStdioServerTransport</c>) with two differences: the session is tracked in
/// the <see cref="McpSessionRegistry"/> so catalog changes reach the client as <c>notifications/tools/list_changed</c>,
/// and closing standard input ends the session at once instead of waiting for handlers still running.
/// </summary>
internal sealed partial class StdioSession(
    IOptionsFactory<McpServerOptions> serverOptions,
    McpSessionRegistry sessions,
    IHostApplicationLifetime lifetime,
    IServiceProvider services,
    ILoggerFactory loggerFactory,
    ILogger<StdioSession> logger,
    StdioStreams? streams = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var options = serverOptions.Create(Options.DefaultName);
            await using StreamServerTransport transport = streams is null
                ? new StdioServerTransport(options, loggerFactory)
                : new StreamServerTransport(streams.Input, streams.Output, options.ServerInfo?.Name, loggerFactory);
            await using var server = McpServer.Create(transport, options, loggerFactory, services);
            using var registration = sessions.Track(server);
            using var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Log.SessionStarted(logger);

            var run = server.RunAsync(sessionEnd.Token);

            // The reader completes once the client has closed standard input and every message has been dispatched.
            // From then on the SDK transport drops whatever is sent, yet the session would still wait for its running
            // handlers (a slow tool, a subscriptions/listen stream that only ends when cancelled). A stdio client that
            // closes our input waits for us to exit, so cancel them: their answers could not be delivered anyway.
            // When nothing is running, the session ends as soon as the reader does, and both can be complete by the
            // time WhenAny looks (it then picks the session): the reader, not the winner, says the client closed input.
            var first = await Task.WhenAny(run, transport.MessageReader.Completion);
            if (transport.MessageReader.Completion.IsCompleted && !stoppingToken.IsCancellationRequested)
            {
                Log.InputClosed(logger);
            }

            if (first != run)
            {
                await sessionEnd.CancelAsync();
            }

            await run;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, EventName = "StdioSessionStarted", Level = LogLevel.Information, Message = "Serving MCP on standard input and output")]
        public static partial void SessionStarted(ILogger logger);

        [LoggerMessage(EventId = 4302, EventName = "StdioInputClosed", Level = LogLevel.Information, Message = "The client closed standard input; stopping")]
        public static partial void InputClosed(ILogger logger);
    }
}
