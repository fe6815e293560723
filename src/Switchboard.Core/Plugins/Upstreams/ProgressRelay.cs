using ModelContextProtocol;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Forwards an upstream's progress notifications for one call to the caller, with the caller's own progress token and
/// in the order they arrived, without holding up the upstream session's message loop.
/// </summary>
internal sealed class ProgressRelay(Func<ProgressNotificationValue, Task> send)
{
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;
    private bool _stopped;

    public void Report(ProgressNotificationValue value)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _tail = _tail.ContinueWith(
                static (_, state) =>
                {
                    var (forward, progress) = ((Func<ProgressNotificationValue, Task>, ProgressNotificationValue))state!;
                    return forward(progress);
                },
                (send, value),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>Stops relaying and waits (briefly) for notifications already on their way, so they precede the result.</summary>
    public async Task DrainAsync(TimeProvider timeProvider)
    {
        Task tail;
        lock (_gate)
        {
            _stopped = true;
            tail = _tail;
        }

        try
        {
            await tail.WaitAsync(TimeSpan.FromSeconds(1), timeProvider);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A caller that went away cannot receive progress; the result (or its absence) is what matters.
        }
    }

    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
        }
    }
}
