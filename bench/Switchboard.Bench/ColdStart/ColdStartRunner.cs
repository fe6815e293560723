using System.Diagnostics;
using Switchboard.Bench.Load;
using Switchboard.Bench.Processes;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.ColdStart;

/// <summary>
/// Cold start: process exec → readiness probe answers → first successful <c>tools/call</c>, then idle memory after a
/// short warm-up. Each variant runs once unmeasured (file cache, the bench tool's own warm-up) and then
/// <see cref="ColdStartConfig.Runs"/> times, with a fresh data folder and with one a previous start created.
/// </summary>
internal sealed class ColdStartRunner(SuiteConfig suite, Placeholders placeholders, string logDirectory, TextWriter console)
{
    public async Task<List<ColdStartRow>> RunAsync(CancellationToken cancellationToken)
    {
        var config = suite.ColdStart ?? throw new InvalidOperationException("The suite has no coldStart section.");
        var rows = new List<ColdStartRow>();
        foreach (var variant in config.Variants)
        {
            foreach (var existing in variant.ExistingData ? new[] { false, true } : [false])
            {
                string? folder = null;
                if (existing)
                {
                    folder = Path.Combine(Path.GetTempPath(), "switchboard-bench", "existing-" + Guid.NewGuid().ToString("n")[..8]);
                    Directory.CreateDirectory(folder);
                }

                try
                {
                    rows.Add(await RunVariantAsync(config, variant, folder, cancellationToken));
                    await console.WriteLineAsync("coldstart: " + Describe(rows[^1]));
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or System.ComponentModel.Win32Exception)
                {
                    await console.WriteLineAsync($"coldstart: {variant.Target} failed: {ex.Message}");
                }
                finally
                {
                    if (folder is not null)
                    {
                        Directory.Delete(folder, recursive: true);
                    }
                }
            }
        }

        return rows;
    }

    private async Task<ColdStartRow> RunVariantAsync(ColdStartConfig config, ColdStartVariant variant, string? existingFolder, CancellationToken cancellationToken)
    {
        var target = suite.Targets[variant.Target];
        var ready = new List<double>();
        var firstCall = new List<double>();
        var rss = new List<double>();
        var failed = 0;
        var loadBefore = MachineLoad.ReadLoadAverage();
        for (var i = 0; i <= config.Runs; i++)
        {
            var sample = await StartOnceAsync(config, variant, target, existingFolder, cancellationToken);
            if (i == 0)
            {
                // Discarded: warms the file cache and the bench tool itself, and creates the "existing" data folder.
                continue;
            }

            ready.Add(sample.Ready.TotalMilliseconds);
            firstCall.Add(sample.FirstCall.TotalMilliseconds);
            rss.Add(sample.IdleRssMiB);
            failed += sample.FailedCalls;
        }

        return new ColdStartRow
        {
            Server = variant.Target,
            Transport = BenchTransportNames.Parse(variant.Transport).Describe(),
            Data = existingFolder is not null ? "existing" : target.Prepare.Count > 0 ? "created by the prepare step" : "fresh",
            Runs = config.Runs,
            ReadyMedianMs = Median(ready),
            FirstCallMedianMs = Median(firstCall),
            FirstCallMinMs = firstCall.Min(),
            FirstCallMaxMs = firstCall.Max(),
            IdleRssMedianMiB = Median(rss),
            FailedFirstCalls = failed,
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = MachineLoad.ReadLoadAverage(),
        };
    }

    private async Task<(TimeSpan Ready, TimeSpan FirstCall, double IdleRssMiB, int FailedCalls)> StartOnceAsync(
        ColdStartConfig config,
        ColdStartVariant variant,
        TargetConfig target,
        string? existingFolder,
        CancellationToken cancellationToken)
    {
        await using var server = await ServerProcess.StartAsync(variant.Target, suite, placeholders, logDirectory, existingFolder, cancellationToken);
        var ready = await server.WaitReadyAsync(target.Ready, TimeSpan.FromSeconds(60), cancellationToken);
        var options = SuiteRunner.CreateOptions(suite, target, variant.Transport, server.BaseUri, 1, 1, server.Pid, expand: server.Expand);
        var template = RequestTemplate.Create(options.Transport, options.Target);
        using var worker = new HttpWorker(options, template, server.EndPoint);
        var failed = 0;
        TimeSpan? firstCall = null;
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (firstCall is null && Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                await worker.ConnectAsync(cancellationToken);
                if (await worker.CallOnceAsync(cancellationToken) == CallCheck.Ok)
                {
                    firstCall = Stopwatch.GetElapsedTime(server.StartedTimestamp);
                    break;
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or HttpRequestException or OperationCanceledException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
            }

            failed++;
            await Task.Delay(2, cancellationToken);
        }

        if (firstCall is null)
        {
            throw new TimeoutException($"{variant.Target} never answered a tools/call successfully.");
        }

        for (var i = 0; i < config.WarmupCalls; i++)
        {
            if (await worker.CallOnceAsync(cancellationToken) != CallCheck.Ok)
            {
                await worker.ConnectAsync(cancellationToken);
            }
        }

        await server.ResolveServerPidAsync(cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(config.IdleSeconds), cancellationToken);
        var rss = (ProcessSampler.ReadStatusKiB(server.Pid, "VmRSS:") ?? 0) / 1024.0;
        return (ready, firstCall.Value, rss, failed);
    }

    internal static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Describe(ColdStartRow row)
        => $"{row.Server} ({row.Data} data): ready {row.ReadyMedianMs:0} ms, first call {row.FirstCallMedianMs:0} ms (min {row.FirstCallMinMs:0}, max {row.FirstCallMaxMs:0}), idle RSS {row.IdleRssMedianMiB:0.0} MiB, failed first calls {row.FailedFirstCalls}";
}
