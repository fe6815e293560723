using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Interop;

/// <summary>
/// The official TypeScript SDK clients, v1 (<c>@modelcontextprotocol/sdk</c> 1.32.x, 2025-11-25 at most) and v2
/// (<c>@modelcontextprotocol/client</c> 2.4.0, both eras), list tools and call <c>text_echo</c> against a running
/// <c>switchboard serve</c>. The scripts in tests/interop/clients only report what they saw; the checks are here.
/// </summary>
public sealed class TypeScriptClientTests(SwitchboardServeFixture server) : IClassFixture<SwitchboardServeFixture>
{
    private const string V1Package = "@modelcontextprotocol/sdk/package.json";
    private const string V2Package = "@modelcontextprotocol/client/package.json";

    /// <summary>Non-ASCII (accents, CJK, an emoji outside the BMP), quotes, a backslash, a tab, a line break and edge spaces.</summary>
    private const string TrickyText = " héllo 世界 👋 \"quoted\" back\\slash\ttab\nsecond line ";

    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SdkV1_StreamableHttp_GetsLegacySession_ListsSampleTools_EchoesExactText()
    {
        NodeTooling.Require(V1Package);
        var mark = server.Mark();

        var result = await ProcessRunner.RunNodeAsync(
            ["clients/ts-sdk-v1.mjs", server.McpUri.ToString(), TrickyText], timeout: s_clientTimeout, cancellationToken: TestContext.Current.CancellationToken);

        InteropOutput.AssertSucceeded(result, "ts-sdk-v1");
        var report = InteropOutput.LastJsonLine(result);
        Assert.Equal(McpHttp.Legacy, report["protocolVersion"]?.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(report["sessionId"]?.GetValue<string>()), "a 2025-11-25 client should get an Mcp-Session-Id");
        Assert.Equal("switchboard", report["serverInfo"]?["name"]?.GetValue<string>());
        InteropOutput.AssertListsSampleTools(InteropOutput.Strings(report["tools"]));
        Assert.Equal([TrickyText], InteropOutput.Strings(report["echo"]));
        Assert.False(report["echoIsError"]!.GetValue<bool>());
        server.AssertNoErrorsLoggedSince(mark);
    }

    [Theory]
    [InlineData("legacy", "legacy", McpHttp.Legacy, true)]
    [InlineData(McpHttp.Modern, "modern", McpHttp.Modern, false)]
    [InlineData("auto", "modern", McpHttp.Modern, false)] // a dual-era server must be picked up as modern by the probe
    public async Task SdkV2_NegotiatesExpectedEra_ListsSampleTools_EchoesExactText(string mode, string expectedEra, string expectedVersion, bool expectSession)
    {
        NodeTooling.Require(V2Package);
        var mark = server.Mark();

        var result = await ProcessRunner.RunNodeAsync(
            ["clients/ts-sdk-v2.mjs", server.McpUri.ToString(), mode, TrickyText], timeout: s_clientTimeout, cancellationToken: TestContext.Current.CancellationToken);

        InteropOutput.AssertSucceeded(result, "ts-sdk-v2 " + mode);
        var report = InteropOutput.LastJsonLine(result);
        Assert.Equal(expectedEra, report["era"]?.GetValue<string>());
        Assert.Equal(expectedVersion, report["protocolVersion"]?.GetValue<string>());
        var sessionId = report["sessionId"]?.GetValue<string>();
        if (expectSession)
        {
            Assert.False(string.IsNullOrWhiteSpace(sessionId), "a 2025-11-25 client should get an Mcp-Session-Id");
        }
        else
        {
            Assert.Null(sessionId);
        }

        Assert.Equal("switchboard", report["serverInfo"]?["name"]?.GetValue<string>());
        InteropOutput.AssertListsSampleTools(InteropOutput.Strings(report["tools"]));
        Assert.Equal([TrickyText], InteropOutput.Strings(report["echo"]));
        Assert.False(report["echoIsError"]!.GetValue<bool>());
        server.AssertNoErrorsLoggedSince(mark);
    }
}
