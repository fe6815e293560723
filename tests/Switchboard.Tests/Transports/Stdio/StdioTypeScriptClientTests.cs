using Switchboard.Tests.Interop;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// The official TypeScript SDK v1 stdio client (<c>@modelcontextprotocol/sdk</c> 1.32.x, the client inside Claude
/// Desktop's generation of tools) starts <c>switchboard stdio</c>, lists tools, calls <c>text_echo</c> and closes. The
/// script only reports what it saw; the checks are here.
/// </summary>
public sealed class StdioTypeScriptClientTests
{
    private const string V1Package = "@modelcontextprotocol/sdk/package.json";
    private const string TrickyText = StdioCommandTests.TrickyText;

    [Fact]
    public async Task SdkV1_Stdio_GetsLegacySession_ListsSampleTools_EchoesExactText_ServerExitsZero()
    {
        NodeTooling.Require(V1Package);
        using var data = new TemporaryDirectory();

        var result = await ProcessRunner.RunNodeAsync(
            ["clients/ts-sdk-v1-stdio.mjs", TrickyText, SwitchboardProcess.ExecutablePath, "stdio", "--data", data.Path],
            timeout: TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);

        InteropOutput.AssertSucceeded(result, "ts-sdk-v1-stdio");
        var report = InteropOutput.LastJsonLine(result);
        Assert.Equal(McpHttp.Legacy, report["protocolVersion"]?.GetValue<string>());
        Assert.Equal("switchboard", report["serverInfo"]?["name"]?.GetValue<string>());
        Assert.Equal(SwitchboardServeFixture.SampleTools, InteropOutput.Strings(report["tools"]));
        Assert.Equal([TrickyText], InteropOutput.Strings(report["echo"]));
        Assert.False(report["echoIsError"]!.GetValue<bool>());

        // A stdout line that is not JSON-RPC would surface here as a client error.
        Assert.Empty(InteropOutput.Strings(report["errors"]));
        var serverStderr = report["serverStderr"]!.GetValue<string>();
        Assert.Contains("Plugin text 1.0.0 loaded with 2 tools", serverStderr, StringComparison.Ordinal);
        Assert.Contains("The client closed standard input", serverStderr, StringComparison.Ordinal);
        Assert.Equal(0, report["serverExitCode"]?.GetValue<int>());
    }
}
