using Switchboard.Bench.Load;

namespace Switchboard.Tests.Bench;

/// <summary>Nearest-rank percentiles on samples whose answer is known.</summary>
public sealed class PercentilesTests
{
    [Fact]
    public void Summarize_OneToHundred_GivesNearestRankPercentiles()
    {
        var samples = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToArray();

        var sut = Percentiles.Summarize(samples);

        Assert.Equal(100, sut.Count);
        Assert.Equal(50.5, sut.MeanMs);
        Assert.Equal(50, sut.P50Ms);
        Assert.Equal(90, sut.P90Ms);
        Assert.Equal(99, sut.P99Ms);
        Assert.Equal(100, sut.MaxMs);
    }

    [Fact]
    public void Summarize_TenSamples_P99IsTheLargest()
    {
        var sut = Percentiles.Summarize([0.3, 0.1, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 5.0]);

        Assert.Equal(0.5, sut.P50Ms);
        Assert.Equal(0.9, sut.P90Ms);
        Assert.Equal(5.0, sut.P99Ms);
        Assert.Equal(5.0, sut.MaxMs);
    }

    [Fact]
    public void Summarize_OneSample_IsEveryPercentile()
    {
        var sut = Percentiles.Summarize([2.5]);

        Assert.Equal([2.5, 2.5, 2.5, 2.5], new[] { sut.P50Ms, sut.P90Ms, sut.P99Ms, sut.MaxMs });
    }

    [Fact]
    public void Summarize_NoSamples_IsEmpty() => Assert.Same(LatencySummary.Empty, Percentiles.Summarize([]));

    [Fact]
    public void NearestRank_OutOfRange_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank([1.0], 101));
}
