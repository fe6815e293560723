using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Interop;

/// <summary>
/// Claude Code's own health check (<c>claude mcp add --transport http</c>, then <c>claude mcp list</c>) against a running
/// <c>switchboard serve</c>, offline: throwaway HOME and config folder, no API key, no auto-update or telemetry. The health
/// check runs the handshake and <c>tools/list</c>; Claude Code cannot call a tool without the model. <c>mcp list</c> exits 0
/// whatever the outcome, so the tests read its text.
/// </summary>
public sealed partial class ClaudeCodeTests(SwitchboardServeFixture server) : IClassFixture<SwitchboardServeFixture>
{
    private const string ClaudePackage = "@anthropic-ai/claude-code/package.json";

    private static string ClaudePath => Path.Combine(NodeTooling.NodeModules, ".bin", "claude");

    [Fact]
    public async Task McpAddThenList_ReportsSwitchboardConnected()
    {
        NodeTooling.Require(ClaudePackage);
        using var sandbox = new ClaudeSandbox();
        var mark = server.Mark();
        var url = server.McpUri.ToString();

        var add = await sandbox.RunAsync("mcp", "add", "--transport", "http", "switchboard", url);
        InteropOutput.AssertSucceeded(add, "claude mcp add");
        var list = await sandbox.RunAsync("mcp", "list");
        InteropOutput.AssertSucceeded(list, "claude mcp list");
        var get = await sandbox.RunAsync("mcp", "get", "switchboard");
        InteropOutput.AssertSucceeded(get, "claude mcp get");

        var status = StatusOf(list, "switchboard", url);
        Assert.StartsWith("✔ Connected", status, StringComparison.Ordinal);
        Assert.Matches(GetConnected(), get.StandardOutput);
        server.AssertNoErrorsLoggedSince(mark);
    }

    [Fact]
    public async Task AuthenticatedServer_ConnectsWithTheBannerBearerHeader_AndNotWithout()
    {
        NodeTooling.Require(ClaudePackage);
        using var data = new TemporaryDirectory();
        await using var secured = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path]);
        var url = (await secured.WaitUntilServingAsync(TestContext.Current.CancellationToken)).ToString();
        await using var issue = SwitchboardProcess.Start(["token", "issue", "--sub", "claude-code-test", "--scope", "tools:*", "--ttl", "10m", "--data", data.Path]);
        Assert.Equal(0, await issue.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var token = issue.StandardOutput.Trim();
        using var sandbox = new ClaudeSandbox();

        // Exactly the line the start-up banner tells users to run, with the token in place of <token>.
        InteropOutput.AssertSucceeded(await sandbox.RunAsync("mcp", "add", "--transport", "http", "switchboard", url, "--header", $"Authorization: Bearer {token}"), "claude mcp add");
        InteropOutput.AssertSucceeded(await sandbox.RunAsync("mcp", "add", "--transport", "http", "anonymous", url), "claude mcp add");
        var list = await sandbox.RunAsync("mcp", "list");
        InteropOutput.AssertSucceeded(list, "claude mcp list");

        Assert.StartsWith("✔ Connected", StatusOf(list, "switchboard", url), StringComparison.Ordinal);
        Assert.DoesNotContain("✔ Connected", StatusOf(list, "anonymous", url), StringComparison.Ordinal);
        Assert.Contains("claude mcp add --transport http switchboard " + url + " --header \"Authorization: Bearer <token>\"", secured.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(token, secured.StandardOutput + secured.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task McpList_DeadPort_IsNotReportedConnected()
    {
        NodeTooling.Require(ClaudePackage);
        using var sandbox = new ClaudeSandbox();
        var deadUrl = $"http://127.0.0.1:{LoopbackPort.Free()}/mcp";

        var add = await sandbox.RunAsync("mcp", "add", "--transport", "http", "nothing-there", deadUrl);
        InteropOutput.AssertSucceeded(add, "claude mcp add");
        var list = await sandbox.RunAsync("mcp", "list");
        InteropOutput.AssertSucceeded(list, "claude mcp list");

        var status = StatusOf(list, "nothing-there", deadUrl);
        Assert.DoesNotContain("Connected", status, StringComparison.Ordinal);
        Assert.Contains("Failed", status, StringComparison.Ordinal);
    }

    /// <summary>The status after "name: url (HTTP) - " in <c>claude mcp list</c>; fails when the server's line is missing.</summary>
    private static string StatusOf(ProcessRunner.Result list, string name, string url)
    {
        var prefix = $"{name}: {url} (HTTP) - ";
        var line = list.StandardOutput.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, $"`claude mcp list` printed no line for {name}:{Environment.NewLine}{list.Combined}");
        return line[prefix.Length..];
    }


    [GeneratedRegex(@"(?m)^\s*Status:\s*✔ Connected\s*$")]
    private static partial Regex GetConnected();

    /// <summary>A throwaway HOME, config folder and project folder, so nothing global is read or changed.</summary>
    private sealed class ClaudeSandbox : IDisposable
    {
        private readonly TemporaryDirectory _root = new();

        public ClaudeSandbox()
        {
            Directory.CreateDirectory(Home);
            Directory.CreateDirectory(ConfigDirectory);
            Directory.CreateDirectory(Project);
        }

        private string Home => Path.Combine(_root.Path, "home");

        private string ConfigDirectory => Path.Combine(Home, ".claude");

        private string Project => Path.Combine(_root.Path, "project");

        public Task<ProcessRunner.Result> RunAsync(params string[] arguments)
            => ProcessRunner.RunAsync(
                ClaudePath,
                arguments,
                Project,
                new Dictionary<string, string?>
                {
                    ["HOME"] = Home,
                    ["CLAUDE_CONFIG_DIR"] = ConfigDirectory,
                    ["DISABLE_AUTOUPDATER"] = "1",
                    ["DISABLE_TELEMETRY"] = "1",
                    ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
                    ["ANTHROPIC_API_KEY"] = null,
                    ["PATH"] = Path.GetDirectoryName(NodeTooling.NodePath) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
                    ["NO_PROXY"] = "127.0.0.1,localhost",
                    ["no_proxy"] = "127.0.0.1,localhost",
                    ["NO_COLOR"] = "1",
                    ["FORCE_COLOR"] = "0",
                },
                TimeSpan.FromSeconds(60),
                TestContext.Current.CancellationToken);

        public void Dispose() => _root.Dispose();
    }
}
