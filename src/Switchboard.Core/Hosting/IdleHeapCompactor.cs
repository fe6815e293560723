using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Diagnostics;

namespace Switchboard.Hosting;

/// <summary>
/// Returns the garbage of a burst of work to the system once the server goes quiet: when the process has allocated
/// (almost) nothing for <see cref="SwitchboardOptions.IdleCompactionQuietPeriod"/> after allocating enough since the
/// last compaction, one aggressive, compacting collection runs. Without it the memory a burst (or start-up) used stays
/// committed until enough new allocations trigger a collection, which an idle server never makes.
/// </summary>
/// <remarks>
/// Activity is read from the runtime's allocation counter, not from the transports, so nothing is added to the request
/// path. The collection stops every thread; it only runs while nothing is allocating, and only when the garbage is a
/// fair share of the heap, so its pause (proportional to the live heap) is paid rarely.
/// </remarks>
internal sealed partial class IdleHeapCompactor(
    IOptions<SwitchboardOptions> options,
    SwitchboardDiagnostics diagnostics,
    TimeProvider timeProvider,
    ILogger<IdleHeapCompactor> logger) : BackgroundService
{
    /// <summary>Samples of the allocation counter per quiet period.</summary>
    public const int SamplesPerQuietPeriod = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CompactHeapWhenIdle)
        {
            return;
        }

        var quietPeriod = options.Value.IdleCompactionQuietPeriod;
        var interval = quietPeriod / SamplesPerQuietPeriod;
        var detector = new IdleAllocationDetector(interval, SamplesPerQuietPeriod, GC.GetTotalAllocatedBytes(precise: false));
        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!detector.Observe(GC.GetTotalAllocatedBytes(precise: false)))
                {
                    continue;
                }

                var workingSetBefore = Environment.WorkingSet;
                var pausedBefore = GC.GetTotalPauseDuration();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                var pause = GC.GetTotalPauseDuration() - pausedBefore;
                var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
                detector.Compacted(GC.GetTotalAllocatedBytes(precise: false), heap);
                diagnostics.HeapCompactions.Add(1);
                Log.Compacted(logger, quietPeriod.TotalMilliseconds, pause.TotalMilliseconds, workingSetBefore / 1024, Environment.WorkingSet / 1024, heap / 1024);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, EventName = "HeapCompactedWhenIdle", Level = LogLevel.Debug, Message = "Heap compacted after {QuietMs} ms without allocations (paused {PauseMs:0.0} ms): resident memory {BeforeKiB} -> {AfterKiB} KiB, {HeapKiB} KiB of live objects")]
        public static partial void Compacted(ILogger logger, double quietMs, double pauseMs, long beforeKiB, long afterKiB, long heapKiB);
    }
}

/// <summary>
/// Decides from samples of the process's allocation counter when a compaction is worth it: every sample of the last
/// quiet period grew by less than <see cref="QuietBytesPerSecond"/>, and the process has allocated at least
/// <see cref="MinimumGarbageBytes"/> and a quarter of the heap left by the last compaction since that compaction.
/// </summary>
internal sealed class IdleAllocationDetector(TimeSpan sampleInterval, int quietSamplesNeeded, long allocatedAtStart)
{
    /// <summary>
    /// What still counts as quiet. An idle server allocates a little (Kestrel's heartbeat, keep-alive pings of open
    /// WebSocket connections); one tool call allocates tens of kilobytes, so a few calls a second are not quiet.
    /// </summary>
    public const long QuietBytesPerSecond = 64 * 1024;

    /// <summary>Below this there is too little to give back to be worth stopping every thread.</summary>
    public const long MinimumGarbageBytes = 1024 * 1024;

    private readonly long _quietBytesPerSample = Math.Max(1, (long)(QuietBytesPerSecond * sampleInterval.TotalSeconds));
    private long _previous = allocatedAtStart;
    private long _atLastCompaction;
    private long _heapAfterLastCompaction;
    private int _quietSamples;

    /// <summary>Takes the allocation counter's current value; true when a compaction should run now.</summary>
    public bool Observe(long allocatedBytes)
    {
        var grown = allocatedBytes - _previous;
        _previous = allocatedBytes;
        _quietSamples = grown < _quietBytesPerSample ? _quietSamples + 1 : 0;
        var garbage = allocatedBytes - _atLastCompaction;
        return _quietSamples >= quietSamplesNeeded && garbage >= Math.Max(MinimumGarbageBytes, _heapAfterLastCompaction / 4);
    }

    /// <summary>Records a compaction: the counter after it and the live heap it left.</summary>
    public void Compacted(long allocatedBytes, long heapBytes)
    {
        _previous = allocatedBytes;
        _atLastCompaction = allocatedBytes;
        _heapAfterLastCompaction = heapBytes;
        _quietSamples = 0;
    }
}
