using System.Diagnostics;

namespace Switchboard.Bench.Load;

/// <summary>
/// What one worker (one connection) saw: latencies of the calls that completed inside the measured window, and counts
/// of every outcome inside and before the window. Written by one worker only; read after the run.
/// </summary>
internal sealed class WorkerStats
{
    private readonly long _windowStart;
    private readonly long _windowEnd;
    private long[] _latencies = new long[4096];

    public WorkerStats(long windowStart, long windowEnd)
    {
        _windowStart = windowStart;
        _windowEnd = windowEnd;
    }

    /// <summary>Outcome counts inside the measured window, indexed by <see cref="CallCheck"/>.</summary>
    public long[] Counts { get; } = new long[Enum.GetValues<CallCheck>().Length];

    /// <summary>Errors before the window (warm-up, connecting).</summary>
    public long WarmupErrors { get; private set; }

    /// <summary>Calls completed (any outcome) before the window.</summary>
    public long WarmupCalls { get; private set; }

    public int LatencyCount { get; private set; }

    public ReadOnlySpan<long> Latencies => _latencies.AsSpan(0, LatencyCount);

    /// <summary>True when <paramref name="timestamp"/> is past the end of the measured window.</summary>
    public bool IsPastWindow(long timestamp) => timestamp >= _windowEnd;

    /// <summary>Records one finished call. Successful calls inside the window keep their latency (Stopwatch ticks).</summary>
    public void Record(CallCheck check, long started, long finished)
    {
        if (finished < _windowStart)
        {
            WarmupCalls++;
            if (check != CallCheck.Ok)
            {
                WarmupErrors++;
            }

            return;
        }

        if (finished >= _windowEnd)
        {
            return;
        }

        Counts[(int)check]++;
        if (check == CallCheck.Ok)
        {
            if (LatencyCount == _latencies.Length)
            {
                Array.Resize(ref _latencies, _latencies.Length * 2);
            }

            _latencies[LatencyCount++] = finished - started;
        }
    }

    /// <summary>Records a failure that is not tied to a request (a connection that could not be opened).</summary>
    public void RecordFailure(CallCheck check)
    {
        var now = Stopwatch.GetTimestamp();
        Record(check, now, now);
    }
}
