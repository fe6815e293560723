using System.Text.Json.Nodes;
using Switchboard.Tests.Interop;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// The MCP Inspector CLI (<c>@modelcontextprotocol/inspector</c> 2.12.0) with a stdio target: it starts
/// <c>switchboard stdio</c> itself, once per call, in each protocol era (<c>legacy</c> runs <c>initialize</c>,
/// <c>modern</c> is pinned to 2026-07-28 and does not fall back, <c>auto</c> probes).
/// </summary>
public sealed class StdioInspectorCliTests
{
    private const string InspectorLauncher = "@modelcontextprotocol/inspector/clients/launcher/build/index.js";

    [Theory]
    [InlineData("legacy")]
    [InlineData("modern")]
    [InlineData("auto")]
    public async Task ListsTheSampleTools_AndCallsTextEchoWithTheExactText(string era)
    {
        NodeTooling.Require(InspectorLauncher);
        const string text = "stdio héllo 世界 👋";

        var list = await RunInspectorAsync(era, "--method", "tools/list");
        var call = await RunInspectorAsync(era, "--method", "tools/call", "--tool-name", "text_echo", "--tool-arg", "text=" + text);

        var tools = (list["tools"] as JsonArray ?? throw new InvalidOperationException("No tools in: " + list.ToJsonString()))
            .Select(t => t!["name"]!.GetValue<string>());
        Assert.Equal(SwitchboardServeFixture.SampleTools, tools);
        Assert.NotEqual(true, call["isError"]?.GetValue<bool>());
        var block = Assert.Single(call["content"] as JsonArray ?? throw new InvalidOperationException("No content in: " + call.ToJsonString()));
        Assert.Equal("text", block!["type"]?.GetValue<string>());
        Assert.Equal(text, block["text"]?.GetValue<string>());
    }

    /// <summary>
    /// Runs the Inspector CLI with the server command after <c>--</c> (so its flags are not taken for the Inspector's),
    /// a throwaway HOME (it writes ~/.mcp-inspector) and a fresh data folder; returns the JSON it printed.
    /// </summary>
    private static async Task<JsonObject> RunInspectorAsync(string era, params string[] arguments)
    {
        using var home = new TemporaryDirectory();
        using var data = new TemporaryDirectory();
        var result = await ProcessRunner.RunNodeAsync(
            [Path.Combine(NodeTooling.NodeModules, InspectorLauncher), "--cli", "--protocol-era", era, .. arguments, "--", SwitchboardProcess.ExecutablePath, "stdio", "--data", data.Path],
            new Dictionary<string, string?> { ["HOME"] = home.Path, ["MCP_CATALOG_PATH"] = null },
            TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);

        InteropOutput.AssertSucceeded(result, $"inspector --protocol-era {era} {string.Join(' ', arguments)} -- switchboard stdio");
        return JsonNode.Parse(result.StandardOutput) as JsonObject
            ?? throw new InvalidOperationException("The Inspector printed no JSON object." + Environment.NewLine + result.Combined);
    }
}
