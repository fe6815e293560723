using System.Globalization;
using System.Text;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.Reports;

/// <summary>The results files: the load test (with the chart and the goals), cold start, and idle connections.</summary>
internal static class SuiteMarkdown
{
    public static string LoadTest(SuiteReport report, SuiteConfig suite, string chartFileName, string command)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(suite);
        var md = Header(report, "Load test: Switchboard beside its peers", command);
        md.AppendLine(CultureInfo.InvariantCulture, $"Every run starts its server afresh, opens the connections, warms up for {suite.WarmupSeconds:0} s and then measures for {suite.DurationSeconds:0} s. ");
        md.AppendLine("Each request calls the echo tool and the answer is checked (id, no JSON-RPC error, no `isError`, the echoed text); only correct answers count in throughput and latency. ");
        md.AppendLine("HTTP runs keep one request in flight per connection; WebSocket runs keep *M* in flight on each of *N* connections. Latency is measured by the load generator (send → whole answer read). ");
        md.AppendLine("Server CPU is the server process's user + system time over the window as a percentage of one core (200% = both cores of this machine); the load generator runs on the same two cores. Peak RSS is the highest `VmRSS` sampled every 100 ms in the window.");
        md.AppendLine();
        md.AppendLine("## Servers");
        md.AppendLine();
        md.AppendLine("| name | what | in the request path |");
        md.AppendLine("|---|---|---|");
        foreach (var name in report.Load.Select(r => r.Server).Distinct())
        {
            var target = suite.Targets[name];
            md.AppendLine(CultureInfo.InvariantCulture, $"| `{name}` | {target.Label} | {target.Stages ?? "–"} |");
        }

        md.AppendLine();
        md.AppendLine("## Results");
        md.AppendLine();
        md.AppendLine(ResultFormatter.TableHeader);
        foreach (var result in report.Load)
        {
            md.AppendLine(ResultFormatter.Row(result, $"`{result.Server}`"));
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![throughput and latency per server and transport]({chartFileName})");
        md.AppendLine();
        if (report.Goals.Count > 0)
        {
            md.AppendLine("## Goals (issue 7)");
            md.AppendLine();
            md.AppendLine("| goal | measured | target | met |");
            md.AppendLine("|---|---|---|---|");
            foreach (var goal in report.Goals)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {goal.Name} | {goal.Measured} | {goal.Target} | {Met(goal.Met)} |");
            }

            md.AppendLine();
        }

        return md.ToString();
    }

    public static string ColdStart(SuiteReport report, SuiteConfig suite, string command, string? buildInfo = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(suite);
        var config = suite.ColdStart!;
        var md = Header(report, "Cold start", command);
        md.AppendLine(CultureInfo.InvariantCulture, $"Each server is started {config.Runs + 1} times per data-folder state; the first start is discarded (file cache, the bench tool's own warm-up) and the table shows medians of the other {config.Runs}. ");
        md.AppendLine("*ready* is process exec → the readiness probe's first 200 (`/readyz` for Switchboard, a TCP connect for the TypeScript server, which has no probe); ");
        md.AppendLine("*first call* is process exec → the first successful `tools/call` (probe polled every 2 ms, then a new connection and the call; for 2025-11-25 the `initialize` handshake is included). ");
        md.AppendLine(CultureInfo.InvariantCulture, $"*idle RSS* is `VmRSS` after {config.WarmupCalls} more calls and {config.IdleSeconds:0} s of quiet. A *fresh* data folder is empty (Switchboard creates and migrates its SQLite file); an *existing* one was created by an earlier start.");
        md.AppendLine();
        md.AppendLine("| server | build | first call over | data folder | ready (median) | first call (median) | first call min–max | idle RSS (median) | failed first calls | loadavg before → after |");
        md.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in report.ColdStart)
        {
            var target = suite.Targets[row.Server];
            md.AppendLine(CultureInfo.InvariantCulture, $"| `{row.Server}` | {target.Label} | {row.Transport} | {row.Data} | {row.ReadyMedianMs:0} ms | {row.FirstCallMedianMs:0} ms | {row.FirstCallMinMs:0}–{row.FirstCallMaxMs:0} ms | {row.IdleRssMedianMiB:0.0} MiB | {row.FailedFirstCalls} | {row.LoadAverageBefore} → {row.LoadAverageAfter} |");
        }

        md.AppendLine();
        if (config.GoalVariant is { } variant && report.ColdStart.FirstOrDefault(r => r.Server == variant) is { } goalRow)
        {
            md.AppendLine("## Goals (issue 7)");
            md.AppendLine();
            md.AppendLine("| goal | measured | target | met |");
            md.AppendLine("|---|---|---|---|");
            if (config.GoalFirstCallMs is { } firstCall)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| `{variant}` start → first tools/call ({goalRow.Data} data folder) | {goalRow.FirstCallMedianMs:0} ms | < {firstCall:0} ms | {Met(goalRow.FirstCallMedianMs < firstCall)} |");
            }

            if (config.GoalIdleRssMiB is { } rss)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| `{variant}` idle RSS | {goalRow.IdleRssMedianMiB:0.0} MiB | < {rss:0} MiB | {Met(goalRow.IdleRssMedianMiB < rss)} |");
            }

            md.AppendLine();
        }

        if (buildInfo is not null)
        {
            md.AppendLine("## Builds");
            md.AppendLine();
            md.AppendLine(buildInfo.TrimEnd());
            md.AppendLine();
        }

        return md.ToString();
    }

    public static string Idle(SuiteReport report, SuiteConfig suite, string command)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(suite);
        var idle = report.Idle!;
        var md = Header(report, "Idle WebSocket connections", command);
        md.AppendLine(CultureInfo.InvariantCulture, $"The server is warmed up over WebSocket, left quiet for 3 s and its `VmRSS` read (baseline). Then {idle.Requested:N0} WebSocket connections are opened (100 at a time); each makes {(suite.Idle!.CallsPerConnection == 1 ? "one `tools/call`" : $"{suite.Idle.CallsPerConnection} `tools/call`s one after another")} and then sends nothing. After {suite.Idle.HoldSeconds:0} s of holding them, `VmRSS` is read again and the connections still open are counted (a pending read on each one notices a drop).");
        md.AppendLine();
        md.AppendLine("| server | transport | connections requested | opened | held at the end | baseline RSS | RSS holding them | added RSS | per connection | server CPU while idle | time to open | loadavg before → after |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| `{idle.Server}` | {idle.Transport} | {idle.Requested:N0} | {idle.Opened:N0} | {idle.HeldAtEnd:N0} | {idle.BaselineRssMiB:0.0} MiB | {idle.HeldRssMiB:0.0} MiB | **{idle.AddedRssMiB:0.0} MiB** | {idle.AddedKiBPerConnection:0.0} KiB | {idle.IdleCpuPercent:0.0}% | {idle.OpenSeconds:0.0} s | {idle.LoadAverageBefore} → {idle.LoadAverageAfter} |");
        md.AppendLine();
        if (suite.Idle.GoalAddedRssMiB is { } goal)
        {
            md.AppendLine("| goal | measured | target | met |");
            md.AppendLine("|---|---|---|---|");
            md.AppendLine(CultureInfo.InvariantCulture, $"| {idle.Requested:N0} idle WebSockets held, added RSS | {idle.AddedRssMiB:0.0} MiB ({idle.HeldAtEnd:N0} held) | < {goal:0} MiB, all held | {Met(idle.AddedRssMiB < goal && idle.HeldAtEnd == idle.Requested)} |");
            md.AppendLine();
        }

        return md.ToString();
    }

    private static StringBuilder Header(SuiteReport report, string title, string command)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title} ({report.Started[..10]})");
        md.AppendLine();
        if (report.Note is { Length: > 0 } note)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"> **{note}**");
            md.AppendLine();
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {report.Started} – {report.Finished ?? "?"} with `{command}` (see [docs/benchmarks.md](../../docs/benchmarks.md)).");
        md.AppendLine();
        md.AppendLine(report.Machine.ToMarkdown());
        md.AppendLine();
        return md;
    }

    private static string Met(bool? met) => met switch
    {
        true => "yes",
        false => "**no**",
        null => "–",
    };
}
