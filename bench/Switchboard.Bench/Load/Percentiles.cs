namespace Switchboard.Bench.Load;

/// <summary>Latency summaries with the nearest-rank percentile (the smallest sample with at least p% of samples at or below it).</summary>
internal static class Percentiles
{
    /// <summary>The nearest-rank percentile of already sorted samples; 0 when there are none.</summary>
    public static double NearestRank(ReadOnlySpan<double> sorted, double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        if (sorted.IsEmpty)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    /// <summary>Sorts the samples (milliseconds) and summarises them.</summary>
    public static LatencySummary Summarize(double[] samplesMs)
    {
        ArgumentNullException.ThrowIfNull(samplesMs);
        if (samplesMs.Length == 0)
        {
            return LatencySummary.Empty;
        }

        Array.Sort(samplesMs);
        double sum = 0;
        foreach (var sample in samplesMs)
        {
            sum += sample;
        }

        return new LatencySummary(
            samplesMs.Length,
            sum / samplesMs.Length,
            NearestRank(samplesMs, 50),
            NearestRank(samplesMs, 90),
            NearestRank(samplesMs, 99),
            samplesMs[^1]);
    }
}

/// <summary>Latency of the successful calls in a measured window, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P90Ms, double P99Ms, double MaxMs)
{
    public static LatencySummary Empty { get; } = new(0, 0, 0, 0, 0, 0);
}
