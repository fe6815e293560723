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
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(200);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Four quarter-second samples per quiet period, counting from a process that had allocated nothing.</summary>
    private static IdleAllocationDetector NewDetector() => new(Sample, quietSamplesNeeded: 4, allocatedAtStart: 0);

    [Fact]
    public void AfterABurst_CompactsOnlyOnceAWholeQuietPeriodHasPassed()
    {
        var detector = NewDetector();
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
        var detector = NewDetector();
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
        var detector = NewDetector();
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
        var detector = NewDetector();
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
        var detector = NewDetector();
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
            ["Switchboard__IdleCompactionQuietPeriod"] = QuietPeriod.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Switchboard.Hosting.IdleHeapCompactor"] = "Debug",
        }, cancellationToken: Token);
        using var http = new HttpClient { BaseAddress = process.BaseUri };

        // Each collection is signalled by its log line (written after the metric is counted).
        await process.WaitForOutputAsync(CompactedLine(), 1, TimeSpan.FromSeconds(30), Token);
        var afterStart = await CompactionsAsync(http);
        Assert.True(afterStart >= 1);

        for (var i = 0; i < 600; i++)
        {
            using var response = await http.PostAsJsonAsync("/v1/tools/text_echo/call", new JsonObject { ["text"] = $"call {i} with some text to echo back" }, Token);
            response.EnsureSuccessStatusCode();
        }

        await process.WaitForOutputAsync(CompactedLine(), afterStart + 1, TimeSpan.FromSeconds(30), Token);

        // A stall of this (busy) test process inside the burst can let a collection run in the middle of it and leave the
        // one after the burst still to come, so the count is read three quiet periods after the signal. Then an absence,
        // which no signal can show: ten quiet periods pass, and no collection may run in them.
        await Task.Delay(3 * QuietPeriod, Token);
        var afterBurst = await CompactionsAsync(http);
        Assert.True(afterBurst >= afterStart + 1);
        await Task.Delay(10 * QuietPeriod, Token);

        Assert.Equal(afterBurst, await CompactionsAsync(http));
        Assert.Equal(afterBurst, CompactedLine().Count(process.StandardOutput + process.StandardError));
    }

    private static async Task<int> CompactionsAsync(HttpClient http)
    {
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Token);
        var line = CompactionsMetric().Match(metrics);
        return line.Success ? int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"^switchboard_runtime_heap_compactions_total\{[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex CompactionsMetric();

    [GeneratedRegex(@"Heap compacted after 200 ms without allocations \(paused [\d.]+ ms\): resident memory \d+ -> \d+ KiB, \d+ KiB of live objects")]
    private static partial Regex CompactedLine();
}
