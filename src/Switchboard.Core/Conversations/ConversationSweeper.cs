using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Conversations;

/// <summary>Deletes expired conversations (and old operation records) every <c>SweepInterval</c>.</summary>
internal sealed partial class ConversationSweeper(
    ConversationEngine engine,
    IOptions<ConversationOptions> options,
    TimeProvider timeProvider,
    ILogger<ConversationSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var deleted = await engine.SweepAsync(stoppingToken);
                    if (deleted > 0)
                    {
                        Log.Swept(logger, deleted);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.SweepFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7010, EventName = "ConversationsExpired", Level = LogLevel.Information, Message = "Conversations: {Count} expired and deleted")]
        public static partial void Swept(ILogger logger, int count);

        [LoggerMessage(EventId = 7011, EventName = "ConversationSweepFailed", Level = LogLevel.Warning, Message = "Conversations: deleting expired conversations failed ({ExceptionType}); retrying at the next sweep")]
        public static partial void SweepFailed(ILogger logger, string exceptionType);
    }
}
