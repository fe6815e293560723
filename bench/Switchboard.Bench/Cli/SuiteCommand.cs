using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Switchboard.Bench.ColdStart;
using Switchboard.Bench.Idle;
using Switchboard.Bench.Reports;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.Cli;

/// <summary>
/// <c>switchboard-bench suite</c>: the published run. Starts each server in turn from the suite file, measures, stops it,
/// and writes <c>DATE-loadtest.md</c> (+ <c>.png</c>, <c>.json</c>), <c>DATE-coldstart.md</c> and <c>DATE-idle.md</c>.
/// </summary>
internal static class SuiteCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "The suite file (bench/suite.json).", Required = true };
        var root = new Option<DirectoryInfo?>("--root") { Description = "Repository root (default: found from the working folder)." };
        var output = new Option<DirectoryInfo?>("--bin") { Description = "Where the servers were published ({out}; default ROOT/artifacts/bench)." };
        var results = new Option<DirectoryInfo?>("--results") { Description = "Where to write results (default ROOT/bench/results)." };
        var sections = new Option<string>("--sections") { Description = "Comma-separated: load, coldstart, idle (default all).", DefaultValueFactory = _ => "load,coldstart,idle" };
        var note = new Option<string?>("--note") { Description = "A note printed at the top of every results file (e.g. PRELIMINARY ...)." };
        var only = new Option<string[]>("--only") { Description = "Run only the load runs and cold-start variants of these targets (repeatable)." };
        var skip = new Option<string[]>("--skip") { Description = "Leave out the load runs and cold-start variants of these targets (repeatable)." };
        var duration = new Option<double?>("--duration") { Description = "Override the measured seconds of every load run." };
        var warmup = new Option<double?>("--warmup") { Description = "Override the warm-up seconds of every load run." };
        var runs = new Option<int?>("--coldstart-runs") { Description = "Override the number of measured cold starts." };
        var idleConnections = new Option<int?>("--idle-connections") { Description = "Override the number of idle WebSocket connections." };
        var idleCalls = new Option<int?>("--idle-calls") { Description = "Override the calls each idle connection makes before it idles (default 1)." };

        var command = new Command("suite", "Run the benchmark suite (load matrix, cold start, idle connections) and write the results.")
        {
            config, root, output, results, sections, note, only, skip, duration, warmup, runs, idleConnections, idleCalls,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var suite = Load(parse.GetValue(config)!.FullName);
            if (parse.GetValue(duration) is { } d)
            {
                suite.DurationSeconds = d;
            }

            if (parse.GetValue(warmup) is { } w)
            {
                suite.WarmupSeconds = w;
            }

            if (parse.GetValue(runs) is { } r && suite.ColdStart is not null)
            {
                suite.ColdStart.Runs = r;
            }

            if (parse.GetValue(idleConnections) is { } n && suite.Idle is not null)
            {
                suite.Idle.Connections = n;
            }

            if (parse.GetValue(idleCalls) is { } calls && suite.Idle is not null)
            {
                suite.Idle.CallsPerConnection = Math.Max(1, calls);
            }

            if (parse.GetValue(only) is { Length: > 0 } targets)
            {
                suite.Load = suite.Load.Where(l => targets.Contains(l.Target, StringComparer.Ordinal)).ToList();
                if (suite.ColdStart is not null)
                {
                    suite.ColdStart.Variants = suite.ColdStart.Variants.Where(v => targets.Contains(v.Target, StringComparer.Ordinal)).ToList();
                }
            }

            if (parse.GetValue(skip) is { Length: > 0 } skipped)
            {
                suite.Load = suite.Load.Where(l => !skipped.Contains(l.Target, StringComparer.Ordinal)).ToList();
                if (suite.ColdStart is not null)
                {
                    suite.ColdStart.Variants = suite.ColdStart.Variants.Where(v => !skipped.Contains(v.Target, StringComparer.Ordinal)).ToList();
                }
            }

            var repository = parse.GetValue(root)?.FullName ?? FindRoot();
            var bin = parse.GetValue(output)?.FullName ?? Path.Combine(repository, "artifacts", "bench");
            var resultsDirectory = parse.GetValue(results)?.FullName ?? Path.Combine(repository, "bench", "results");
            var placeholders = new Placeholders(repository, bin, suite.Text);
            var logs = Path.Combine(bin, "logs");
            var wanted = parse.GetValue(sections)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var commandLine = "bench/run.sh";
            Directory.CreateDirectory(resultsDirectory);
            var date = TimeProvider.System.GetLocalNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var failed = false;

            if (wanted.Contains("load"))
            {
                var report = NewReport(placeholders, parse.GetValue(note));
                report.Load.AddRange(await new SuiteRunner(suite, placeholders, logs, Console.Out).RunLoadAsync(cancellationToken));
                report.Goals.AddRange(SuiteRunner.EvaluateGoals(suite, report.Load));
                report.Finished = Now();
                var chart = $"{date}-loadtest.png";
                ChartRenderer.Render(report.Load, $"Switchboard and peers, {date}", Path.Combine(resultsDirectory, chart));
                await File.WriteAllTextAsync(Path.Combine(resultsDirectory, $"{date}-loadtest.md"), SuiteMarkdown.LoadTest(report, suite, chart, commandLine), cancellationToken);
                await File.WriteAllTextAsync(Path.Combine(resultsDirectory, $"{date}-loadtest.json"), JsonSerializer.Serialize(report, BenchJsonContext.Default.SuiteReport), cancellationToken);
                Console.WriteLine($"suite: wrote {Path.Combine(resultsDirectory, $"{date}-loadtest.md")}");
                failed |= report.Load.Count < suite.Load.Count || report.Load.Any(l => l.Errors > 0);
            }

            if (wanted.Contains("coldstart") && suite.ColdStart is not null)
            {
                var report = NewReport(placeholders, parse.GetValue(note));
                report.ColdStart.AddRange(await new ColdStartRunner(suite, placeholders, logs, Console.Out).RunAsync(cancellationToken));
                report.Finished = Now();
                await File.WriteAllTextAsync(Path.Combine(resultsDirectory, $"{date}-coldstart.md"), SuiteMarkdown.ColdStart(report, suite, commandLine, ReadBuildInfo(bin)), cancellationToken);
                Console.WriteLine($"suite: wrote {Path.Combine(resultsDirectory, $"{date}-coldstart.md")}");
            }

            if (wanted.Contains("idle") && suite.Idle is not null)
            {
                var report = NewReport(placeholders, parse.GetValue(note));
                report.Idle = await new IdleConnectionsRunner(suite, placeholders, logs, Console.Out).RunAsync(cancellationToken);
                report.Finished = Now();
                await File.WriteAllTextAsync(Path.Combine(resultsDirectory, $"{date}-idle.md"), SuiteMarkdown.Idle(report, suite, commandLine), cancellationToken);
                Console.WriteLine($"suite: wrote {Path.Combine(resultsDirectory, $"{date}-idle.md")}");
            }

            return failed ? 1 : 0;
        });
        return command;
    }

    public static SuiteConfig Load(string path)
        => JsonSerializer.Deserialize(File.ReadAllText(path), BenchJsonContext.Default.SuiteConfig)
            ?? throw new InvalidDataException($"{path} is empty.");

    /// <summary>The build sizes and AOT warning count bench/run.sh wrote, when present.</summary>
    private static string? ReadBuildInfo(string bin)
    {
        var path = Path.Combine(bin, "build-info.md");
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    private static SuiteReport NewReport(Placeholders placeholders, string? note)
        => new() { Machine = MachineInfo.Read(placeholders.Expand("{node}")), Started = Now(), Note = note };

    private static string Now() => TimeProvider.System.GetLocalNow().ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(Directory.GetCurrentDirectory()); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Switchboard.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run from inside the repository or pass --root.");
    }
}
