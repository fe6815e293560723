using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Hosting;

/// <summary>When an idle server gives the garbage of its last burst of work back, and when it leaves the heap alone.</summary>
public sealed partial class IdleHeapCompactorTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Sample = TimeSpan.FromMilliseconds(250);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void AfterABurst_CompactsOnlyOnceAWholeQuietPeriodHasPassed()
    {
        var detector = new IdleAllocationDetector(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);
        var allocated = 8 * MiB;

        Assert.False(detector.Observe(allocated));
        Assert.False(detector.Observe(allocated += 1024));
        Assert.False(detector.Observe(allocated += 1024));
        Assert.False(detector.Observe(allocated));
        Assert.True(detector.Observe(allocated));
    }

    [Fact]
    public void ASampleWithWorkInIt_StartsTheQuietPeriodAgain()
    {
        var detector = new IdleAllocationDetector(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);
        var allocated = 8 * MiB;
        detector.Observe(allocated);
        detector.Observe(allocated);
        detector.Observe(allocated);

        // 64 KiB in a quarter of a second is a few tool calls: not quiet.
        Assert.False(detector.Observe(allocated += 64 * 1024));
        Assert.False(detector.Observe(allocated));
        Assert.False(detector.Observe(allocated));
        Assert.False(detector.Observe(allocated));
        Assert.True(detector.Observe(allocated));
    }

    [Fact]
    public void AServerThatStaysIdle_IsCompactedOnce_NotOnEveryQuietPeriod()
    {
        var detector = new IdleAllocationDetector(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);
        var allocated = 8 * MiB;
        var compactions = 0;
        for (var sample = 0; sample < 400; sample++)
        {
            // An idle server's trickle (heartbeats, keep-alive pings): 2 KiB a sample, 800 KiB over 100 seconds.
            allocated += 2048;
            if (detector.Observe(allocated))
            {
                compactions++;
                detector.Compacted(allocated, heapBytes: 6 * MiB);
            }
        }

        Assert.Equal(1, compactions);
    }

    [Fact]
    public void LessGarbageThanAQuarterOfTheHeap_IsNotWorthAPause()
    {
        var detector = new IdleAllocationDetector(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);
        detector.Compacted(allocatedBytes: 100 * MiB, heapBytes: 200 * MiB);
        var allocated = 100 * MiB;

        // A burst of 40 MiB on a 200 MiB heap (10,000 idle connections): below a quarter, so left alone.
        detector.Observe(allocated += 40 * MiB);
        Assert.DoesNotContain(true, Enumerable.Range(0, 20).Select(_ => detector.Observe(allocated)));

        detector.Observe(allocated += 20 * MiB);
        Assert.Contains(true, Enumerable.Range(0, 5).Select(_ => detector.Observe(allocated)));
    }

    [Fact]
    public void BelowAMebibyteOfGarbage_NothingIsCollected()
    {
        var detector = new IdleAllocationDetector(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);
        detector.Compacted(allocatedBytes: 50 * MiB, heapBytes: 1 * MiB);
        var allocated = 50 * MiB + (900 * 1024);

        detector.Observe(allocated);
        Assert.DoesNotContain(true, Enumerable.Range(0, 20).Select(_ => detector.Observe(allocated)));
    }

    /// <summary>
    /// The real executable (the test process's own allocation counter is shared by every test running beside it, so
    /// quiet could never be observed here): it compacts once after start-up, again after a burst of calls, and not
    /// while it stays quiet. Counted by the metric operators see, and by the debug log line.
    /// </summary>
    [Fact]
    public async Task TheServer_CompactsAfterStartAndAfterABurst_ThenLeavesAnIdleHeapAlone()
    {
        await using var process = await SwitchboardProcess.StartServeAsync(environment: new Dictionary<string, string?>
        {
            ["Switchboard__IdleCompactionQuietPeriod"] = "00:00:00.200",
            ["Logging__LogLevel__Switchboard.Hosting.IdleHeapCompactor"] = "Debug",
        }, cancellationToken: Token);
        using var http = new HttpClient { BaseAddress = process.BaseUri };

        var afterStart = await WaitForCompactionsAsync(http, 1);

        for (var i = 0; i < 600; i++)
        {
            using var response = await http.PostAsJsonAsync("/v1/tools/text_echo/call", new JsonObject { ["text"] = $"call {i} with some text to echo back" }, Token);
            response.EnsureSuccessStatusCode();
        }

        var afterBurst = await WaitForCompactionsAsync(http, afterStart + 1);
        await Task.Delay(TimeSpan.FromSeconds(2), Token);

        Assert.Equal(afterBurst, await CompactionsAsync(http));
        Assert.Equal(afterBurst, CompactedLine().Count(process.StandardOutput + process.StandardError));
    }

    private static async Task<int> CompactionsAsync(HttpClient http)
    {
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Token);
        var line = CompactionsMetric().Match(metrics);
        return line.Success ? int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<int> WaitForCompactionsAsync(HttpClient http, int count)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        int seen;
        while ((seen = await CompactionsAsync(http)) < count)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"{seen} of {count} compactions in 30 s.");
            await Task.Delay(100, Token);
        }

        return seen;
    }

    [GeneratedRegex(@"^switchboard_runtime_heap_compactions_total\{[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex CompactionsMetric();

    [GeneratedRegex(@"Heap compacted after 200 ms without allocations \(paused [\d.]+ ms\): resident memory \d+ -> \d+ KiB, \d+ KiB of live objects")]
    private static partial Regex CompactedLine();
}
