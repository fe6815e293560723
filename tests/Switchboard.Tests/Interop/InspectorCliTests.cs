using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Interop;

/// <summary>
/// The MCP Inspector CLI (<c>@modelcontextprotocol/inspector</c> 2.12.0) lists tools and calls <c>text_echo</c> against a
/// running <c>switchboard serve</c>, in each protocol era. <c>--protocol-era legacy</c> runs the 2025-11-25
/// <c>initialize</c> handshake; <c>modern</c> is pinned to 2026-07-28 (<c>server/discover</c>) and does not fall back, so
/// it fails against a legacy-only server; <c>auto</c> probes and picks.
/// </summary>
public sealed class InspectorCliTests(SwitchboardServeFixture server) : IClassFixture<SwitchboardServeFixture>
{
    private const string Launcher = "@modelcontextprotocol/inspector/clients/launcher/build/index.js";
    private const string EchoText = "héllo 世界 👋";

    [Theory]
    [InlineData("legacy")]
    [InlineData("modern")]
    [InlineData("auto")]
    public async Task ToolsList_ListsSampleToolsIncludingTextEcho(string era)
    {
        NodeTooling.Require(Launcher);
        var mark = server.Mark();

        var output = await RunInspectorAsync(era, "--method", "tools/list");

        var tools = (output["tools"] as JsonArray ?? throw new InvalidOperationException("No tools in: " + output.ToJsonString()))
            .Select(t => t!["name"]!.GetValue<string>())
            .ToList();
        Assert.Contains("text_echo", tools);
        InteropOutput.AssertListsSampleTools(tools);
        var echo = output["tools"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == "text_echo")!;
        Assert.Equal("string", echo["inputSchema"]?["properties"]?["text"]?["type"]?.GetValue<string>());
        server.AssertNoErrorsLoggedSince(mark);
    }

    [Theory]
    [InlineData("legacy")]
    [InlineData("modern")]
    [InlineData("auto")]
    public async Task ToolsCall_TextEcho_ReturnsTheExactText(string era)
    {
        NodeTooling.Require(Launcher);
        var mark = server.Mark();

        var output = await RunInspectorAsync(era, "--method", "tools/call", "--tool-name", "text_echo", "--tool-arg", "text=" + EchoText);

        Assert.NotEqual(true, output["isError"]?.GetValue<bool>());
        var content = output["content"] as JsonArray ?? throw new InvalidOperationException("No content in: " + output.ToJsonString());
        var block = Assert.Single(content);
        Assert.Equal("text", block!["type"]?.GetValue<string>());
        Assert.Equal(EchoText, block["text"]?.GetValue<string>());
        server.AssertNoErrorsLoggedSince(mark);
    }

    /// <summary>Runs the Inspector CLI with a throwaway HOME (it writes ~/.mcp-inspector) and returns the JSON it printed.</summary>
    private async Task<JsonObject> RunInspectorAsync(string era, params string[] arguments)
    {
        using var home = new TemporaryDirectory();
        var result = await ProcessRunner.RunNodeAsync(
            [Path.Combine(NodeTooling.NodeModules, Launcher), "--cli", server.McpUri.ToString(), "--protocol-era", era, .. arguments],
            new Dictionary<string, string?> { ["HOME"] = home.Path, ["MCP_CATALOG_PATH"] = null },
            TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);

        InteropOutput.AssertSucceeded(result, $"inspector --protocol-era {era} {string.Join(' ', arguments)}");
        return JsonNode.Parse(result.StandardOutput) as JsonObject
            ?? throw new InvalidOperationException("The Inspector printed no JSON object." + Environment.NewLine + result.Combined);
    }
}
