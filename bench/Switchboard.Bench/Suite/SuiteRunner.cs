using Switchboard.Bench.Load;
using Switchboard.Bench.Processes;
using Switchboard.Bench.Reports;

namespace Switchboard.Bench.Suite;

/// <summary>Runs the load matrix: for each cell, start the server, warm up, measure, stop.</summary>
internal sealed class SuiteRunner(SuiteConfig suite, Placeholders placeholders, string logDirectory, TextWriter console)
{
    public async Task<List<LoadResult>> RunLoadAsync(CancellationToken cancellationToken)
    {
        var results = new List<LoadResult>();
        foreach (var run in suite.Load)
        {
            var target = suite.Targets[run.Target];
            await console.WriteLineAsync($"load: {run.Target} {run.Transport} {run.Connections}×{run.InFlight} ...");
            LoadResult result;
            try
            {
                await using var server = await ServerProcess.StartAsync(run.Target, suite, placeholders, logDirectory, null, cancellationToken);
                await server.WaitReadyAsync(target.Ready, TimeSpan.FromSeconds(60), cancellationToken);
                await server.ResolveServerPidAsync(cancellationToken);
                var options = CreateOptions(suite, target, run.Transport, server.BaseUri, run.Connections, run.InFlight, server.Pid, run.DurationSeconds, server.Expand);
                result = await LoadRunner.RunAsync(options, cancellationToken) with { Server = run.Target };
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or System.ComponentModel.Win32Exception)
            {
                await console.WriteLineAsync($"load: {run.Target} {run.Transport} failed: {ex.Message}");
                continue;
            }

            await console.WriteLineAsync("load: " + ResultFormatter.Line(result));
            results.Add(result);
        }

        return results;
    }

    public static LoadOptions CreateOptions(
        SuiteConfig suite,
        TargetConfig target,
        string transport,
        Uri baseUri,
        int connections,
        int inFlight,
        int? pid,
        double? durationSeconds = null,
        Func<string, string>? expand = null)
    {
        expand ??= static value => value;
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(target);
        return new LoadOptions
        {
            BaseUri = baseUri,
            Transport = BenchTransportNames.Parse(transport),
            Connections = connections,
            InFlight = inFlight,
            Warmup = TimeSpan.FromSeconds(suite.WarmupSeconds),
            Duration = TimeSpan.FromSeconds(durationSeconds ?? suite.DurationSeconds),
            Timeout = TimeSpan.FromSeconds(suite.TimeoutSeconds),
            ServerPid = pid,
            Headers = target.Headers.Select(h => new KeyValuePair<string, string>(h.Key, expand(h.Value))).ToList(),
            Target = new CallTarget(target.Tool, target.Argument, suite.Text, target.Expect.Replace("{text}", suite.Text, StringComparison.Ordinal)),
        };
    }

    /// <summary>Checks the goals against the results; a goal whose runs are missing is reported as not measured.</summary>
    public static List<GoalResult> EvaluateGoals(SuiteConfig suite, IReadOnlyList<LoadResult> results)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var goals = new List<GoalResult>();
        foreach (var goal in suite.Goals)
        {
            if (goal.Kind == "ratio" && Find(results, goal.Numerator) is { } numerator && Find(results, goal.Denominator) is { } denominator && denominator.Throughput > 0)
            {
                var ratio = numerator.Throughput / denominator.Throughput;
                goals.Add(new GoalResult(
                    goal.Name,
                    $"{ratio:0.00}× ({numerator.Throughput:N0} / {denominator.Throughput:N0} req/s)",
                    goal.Min is { } least ? $"≥ {least:0.##}×" : "(a comparison, no goal)",
                    goal.Min is { } min ? ratio >= min : null));
            }
            else if (goal.Kind == "p99" && Find(results, goal.Run) is { } run)
            {
                goals.Add(new GoalResult(goal.Name, ResultFormatter.Ms(run.Latency.P99Ms), $"< {goal.Max:0.##} ms", goal.Max is { } max ? run.Latency.P99Ms < max && run.Ok > 0 : null));
            }
            else
            {
                goals.Add(new GoalResult(goal.Name, "not measured", goal.Min is { } m ? $"≥ {m:0.##}×" : $"< {goal.Max:0.##} ms", null));
            }
        }

        return goals;
    }

    private static LoadResult? Find(IReadOnlyList<LoadResult> results, RunRef? run)
        => run is null
            ? null
            : results.FirstOrDefault(r => r.Server == run.Target && r.Transport == run.Transport && r.Connections == run.Connections && r.InFlight == run.InFlight);
}
