using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Interop;

/// <summary>
/// Runs of the official MCP conformance suite share this collection. Parallelisation is off: several scenarios judge
/// the server by what arrives on a stream within a short window, which a machine busy with other tests can miss.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConformanceSuiteRuns
{
    public const string Name = "Official MCP conformance suite";
}

/// <summary>
/// The official conformance suite (<c>@modelcontextprotocol/conformance</c>) against a real server started with the
/// conformance fixtures (<c>serve --conformance-fixtures</c>): the stable 0.1.16 active suite with no expected
/// failures, and the 0.2.0-alpha.12 requirement sets of both protocol revisions, each against a baseline file in
/// <c>tests/interop</c> whose every entry carries a one-line reason.
/// </summary>
[Collection(ConformanceSuiteRuns.Name)]
public sealed partial class ConformanceSuiteTests
{
    private const string StableCli = "node_modules/@modelcontextprotocol/conformance/dist/index.js";
    private const string AlphaCli = "node_modules/conformance-alpha/dist/index.js";
    private static readonly TimeSpan s_suiteTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Stable_0_1_16_ActiveSuite_PassesWithNoExpectedFailures()
    {
        var run = await RunSuiteAsync(StableCli, [], baselineFile: null);

        Assert.True(run.ExitCode == 0, $"The conformance suite exited with {run.ExitCode}.{Environment.NewLine}{run.Details}");
        var total = TotalLine().Match(run.Summary);
        Assert.True(total.Success, $"No 'Total:' line in the summary.{Environment.NewLine}{run.Details}");
        Assert.Equal("0", total.Groups["failed"].Value);
        Assert.DoesNotContain("✗", run.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public Task Alpha_Requirements_2026_07_28_MatchBaseline()
        => RunRequirementsAsync("2026-07-28");

    [Fact]
    public Task Alpha_Requirements_2025_11_25_MatchBaseline()
        => RunRequirementsAsync("2025-11-25");

    private static async Task RunRequirementsAsync(string revision)
    {
        var baselineFile = $"conformance-baseline-{revision}.yml";
        var run = await RunSuiteAsync(AlphaCli, ["--requirements", revision], baselineFile);

        // With a baseline the suite exits 0 only when the scored failures (warnings included) are exactly the listed ones.
        Assert.True(run.ExitCode == 0, $"The conformance suite exited with {run.ExitCode}.{Environment.NewLine}{run.Details}");
        Assert.Contains("Baseline check passed", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unexpected failures", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Stale baseline entries", run.Output, StringComparison.Ordinal);

        // With a baseline the suite no longer separates scored from unscored scenarios in its summary (the tasks
        // extension and pending scenarios fail there without counting), so tally the scored ones from the frozen list.
        var scored = await ListScoredServerScenariosAsync(revision);
        var results = ScenarioLine().Matches(run.Summary).ToDictionary(
            m => m.Groups["name"].Value,
            m => (Passed: int.Parse(m.Groups["passed"].Value, CultureInfo.InvariantCulture), Failed: int.Parse(m.Groups["failed"].Value, CultureInfo.InvariantCulture)),
            StringComparer.Ordinal);
        var missing = scored.Where(name => !results.ContainsKey(name)).ToList();
        Assert.True(missing.Count == 0, $"Scored scenarios missing from the summary: {string.Join(", ", missing)}.{Environment.NewLine}{run.Details}");

        var expected = BaselineEntries(Path.Combine(NodeTooling.InteropDirectory, baselineFile)).Select(e => e.Split(':')[0]).ToHashSet(StringComparer.Ordinal);
        var failing = scored.Where(name => results[name].Failed > 0).ToList();
        var unexpected = failing.Where(name => !expected.Contains(name)).ToList();
        Assert.True(unexpected.Count == 0, $"Scored scenarios failing beyond the baseline: {string.Join(", ", unexpected)}.{Environment.NewLine}{run.Details}");

        var unscored = results.Keys.Where(name => !scored.Contains(name)).Select(name => $"{name} {(results[name].Failed > 0 ? "failing" : "passing")}");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Scored for {revision}: {scored.Count} scenarios, {scored.Count - failing.Count} passing, {failing.Count} failing " +
            $"({failing.Count(expected.Contains)} of them in the baseline); checks {scored.Sum(n => results[n].Passed)} passed, {scored.Sum(n => results[n].Failed)} failed.");
        TestContext.Current.TestOutputHelper?.WriteLine($"Not scored for {revision}: {string.Join(", ", unscored)}.");
    }

    /// <summary>The server scenarios the alpha's frozen requirement set scores for a revision.</summary>
    private static async Task<HashSet<string>> ListScoredServerScenariosAsync(string revision)
    {
        var list = await ProcessRunner.RunNodeAsync([AlphaCli, "list", "--requirements", revision], cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(list.ExitCode == 0, $"conformance list --requirements {revision} failed:{Environment.NewLine}{list.Combined}");
        var scenarios = new HashSet<string>(StringComparer.Ordinal);
        var inServerSection = false;
        foreach (var line in list.StandardOutput.Split('\n'))
        {
            if (line.StartsWith("Server scenarios", StringComparison.Ordinal))
            {
                inServerSection = true;
            }
            else if (inServerSection && line.TrimStart().StartsWith("- ", StringComparison.Ordinal))
            {
                scenarios.Add(line.Trim()[2..].Trim());
            }
            else if (inServerSection && line.Trim().Length > 0)
            {
                break;
            }
        }

        Assert.NotEmpty(scenarios);
        return scenarios;
    }

    private static async Task<SuiteRun> RunSuiteAsync(string cli, string[] options, string? baselineFile)
    {
        NodeTooling.Require(cli["node_modules/".Length..]);
        var cancellationToken = TestContext.Current.CancellationToken;
        var arguments = new List<string>();
        if (baselineFile is not null)
        {
            var baseline = Path.Combine(NodeTooling.InteropDirectory, baselineFile);
            AssertEveryEntryHasAReason(baseline);
            arguments.AddRange(["--expected-failures", baseline]);
        }

        await using var server = await SwitchboardTestServer.StartAsync(conformanceFixtures: true, cancellationToken: cancellationToken);
        using var results = new TemporaryDirectory();
        var result = await ProcessRunner.RunNodeAsync(
            [cli, "server", "--url", server.McpUri.ToString(), "-o", results.Path, .. options, .. arguments],
            timeout: s_suiteTimeout,
            cancellationToken: cancellationToken);

        var output = AnsiEscape().Replace(result.StandardOutput, string.Empty);
        var start = output.IndexOf("=== SUMMARY ===", StringComparison.Ordinal);
        var summary = start < 0 ? "(the suite printed no summary)" : output[start..].TrimEnd();
        var version = cli == StableCli ? "0.1.16" : "0.2.0-alpha.12";
        TestContext.Current.TestOutputHelper?.WriteLine($"@modelcontextprotocol/conformance {version} server {string.Join(' ', options)}".TrimEnd());
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        return new SuiteRun(result.ExitCode, output, summary, AnsiEscape().Replace(result.StandardError, string.Empty), NonPassingChecks(results.Path));
    }

    /// <summary>Every check the suite recorded as a failure or warning, from the per-scenario <c>checks.json</c> files.</summary>
    private static List<string> NonPassingChecks(string resultsDirectory)
    {
        var problems = new List<string>();
        foreach (var file in Directory.EnumerateFiles(resultsDirectory, "checks.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var scenario = Path.GetFileName(Path.GetDirectoryName(file));
            if (JsonNode.Parse(File.ReadAllText(file)) is not JsonArray checks)
            {
                continue;
            }

            foreach (var check in checks.OfType<JsonObject>())
            {
                var status = (string?)check["status"];
                if (status is "FAILURE" or "WARNING")
                {
                    problems.Add($"{scenario}: {(string?)check["id"]} {status} {(string?)check["errorMessage"]}");
                }
            }
        }

        return problems;
    }

    /// <summary>A baseline lists one scenario (or <c>scenario:check-id</c>) per line, each with a <c># reason</c>.</summary>
    private static void AssertEveryEntryHasAReason(string baselinePath)
    {
        Assert.True(File.Exists(baselinePath), $"Baseline file {baselinePath} is missing.");
        foreach (var line in File.ReadLines(baselinePath))
        {
            var entry = BaselineEntry().Match(line);
            if (entry.Success)
            {
                Assert.False(string.IsNullOrWhiteSpace(entry.Groups["reason"].Value), $"Baseline entry '{entry.Groups["name"].Value}' in {baselinePath} has no '# reason' comment.");
            }
        }
    }

    private static IEnumerable<string> BaselineEntries(string baselinePath)
        => File.ReadLines(baselinePath).Select(line => BaselineEntry().Match(line)).Where(m => m.Success).Select(m => m.Groups["name"].Value);

    private sealed record SuiteRun(int ExitCode, string Output, string Summary, string StandardError, IReadOnlyList<string> NonPassingChecks)
    {
        public string Details => string.Join(
            Environment.NewLine,
            ["--- failed or warning checks (scored and unscored) ---", .. NonPassingChecks, "--- stdout ---", Output, "--- stderr ---", StandardError]);
    }

    [GeneratedRegex(@"\x1B\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"^Total: (?<passed>\d+) passed, (?<failed>\d+) failed", RegexOptions.Multiline)]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"^[✓✗] (?<name>\S+): (?<passed>\d+) passed, (?<failed>\d+) failed", RegexOptions.Multiline)]
    private static partial Regex ScenarioLine();

    [GeneratedRegex(@"^\s*-\s*(?<name>[^\s#]+)\s*(?:#(?<reason>.*))?$")]
    private static partial Regex BaselineEntry();
}
