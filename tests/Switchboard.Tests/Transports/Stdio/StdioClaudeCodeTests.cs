using System.Text.RegularExpressions;
using Switchboard.Tests.Interop;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// Claude Code's own health check on a stdio entry: <c>claude mcp add switchboard -- …/switchboard stdio --data DIR</c>
/// (the line docs/stdio.md gives), then <c>claude mcp list</c> and <c>claude mcp get</c>, which start the server, run the
/// handshake and <c>tools/list</c>. Offline: throwaway HOME and config folder, no API key, no auto-update or telemetry.
/// </summary>
public sealed partial class StdioClaudeCodeTests
{
    private const string ClaudePackage = "@anthropic-ai/claude-code/package.json";

    [Fact]
    public async Task McpAddStdioThenList_ReportsSwitchboardConnected()
    {
        NodeTooling.Require(ClaudePackage);
        using var sandbox = new TemporaryDirectory();
        var data = Path.Combine(sandbox.Path, "data");
        var project = Directory.CreateDirectory(Path.Combine(sandbox.Path, "project")).FullName;
        var home = Directory.CreateDirectory(Path.Combine(sandbox.Path, "home", ".claude")).Parent!.FullName;

        var add = await RunClaudeAsync(home, project, "mcp", "add", "switchboard", "--", SwitchboardProcess.ExecutablePath, "stdio", "--data", data);
        InteropOutput.AssertSucceeded(add, "claude mcp add");
        var list = await RunClaudeAsync(home, project, "mcp", "list");
        InteropOutput.AssertSucceeded(list, "claude mcp list");
        var get = await RunClaudeAsync(home, project, "mcp", "get", "switchboard");
        InteropOutput.AssertSucceeded(get, "claude mcp get");

        // `mcp list` exits 0 whatever the outcome, so read its line: "name: command args - status".
        var prefix = $"switchboard: {SwitchboardProcess.ExecutablePath} stdio --data {data} - ";
        var line = list.StandardOutput.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, "`claude mcp list` printed no line for the stdio entry:" + Environment.NewLine + list.Combined);
        Assert.StartsWith("✔ Connected", line[prefix.Length..], StringComparison.Ordinal);
        Assert.Matches(GetConnected(), get.StandardOutput);
        Assert.Matches(GetStdioType(), get.StandardOutput);

        // The check really ran this server with these arguments: it opened the data folder given after --data.
        Assert.True(File.Exists(Path.Combine(data, "switchboard.db")), "the health check should have started switchboard stdio");
    }

    private static Task<ProcessRunner.Result> RunClaudeAsync(string home, string project, params string[] arguments)
        => ProcessRunner.RunAsync(
            Path.Combine(NodeTooling.NodeModules, ".bin", "claude"),
            arguments,
            project,
            new Dictionary<string, string?>
            {
                ["HOME"] = home,
                ["CLAUDE_CONFIG_DIR"] = Path.Combine(home, ".claude"),
                ["DISABLE_AUTOUPDATER"] = "1",
                ["DISABLE_TELEMETRY"] = "1",
                ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
                ["ANTHROPIC_API_KEY"] = null,
                ["PATH"] = Path.GetDirectoryName(NodeTooling.NodePath) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
                ["NO_COLOR"] = "1",
                ["FORCE_COLOR"] = "0",
            },
            TimeSpan.FromSeconds(60),
            TestContext.Current.CancellationToken);

    [GeneratedRegex(@"(?m)^\s*Status:\s*✔ Connected\s*$")]
    private static partial Regex GetConnected();

    [GeneratedRegex(@"(?m)^\s*Type:\s*stdio\s*$")]
    private static partial Regex GetStdioType();
}
