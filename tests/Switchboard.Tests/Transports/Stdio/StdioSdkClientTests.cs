using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Tests.Interop;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// The MCP C# SDK's own stdio client starts <c>switchboard stdio</c> (the real executable) and lists and calls tools,
/// pinned to each protocol era: 2025-11-25 runs the <c>initialize</c> handshake, 2026-07-28 sends per-request
/// <c>_meta</c> and refuses to fall back.
/// </summary>
public sealed class StdioSdkClientTests
{
    private const string TrickyText = StdioCommandTests.TrickyText;

    [Theory]
    [InlineData(McpHttp.Legacy)]
    [InlineData(McpHttp.Modern)]
    public async Task PinnedEra_ListsSampleTools_EchoesExactText_LogsOnlyToStderr_ExitsZeroWhenClosed(string protocolVersion)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var data = new TemporaryDirectory();
        var stderr = new List<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = SwitchboardProcess.ExecutablePath,
            Arguments = ["stdio", "--data", data.Path],
            Name = "switchboard",
            StandardErrorLines = line => { lock (stderr) { stderr.Add(line); } },
        });

        // The server/discover probe starts the process and waits for it; on a loaded machine a cold start can outlast the
        // SDK's short default probe window, after which the client would wrongly conclude the server needs initialize.
        var options = new McpClientOptions
        {
            ProtocolVersion = protocolVersion,
            InitializationTimeout = TimeSpan.FromMinutes(2),
            DiscoverProbeTimeout = TimeSpan.FromSeconds(90),
        };
        var client = await McpClient.CreateAsync(transport, options, cancellationToken: cancellationToken);
        IList<McpClientTool> tools;
        CallToolResult echo;
        await using (client)
        {
            Assert.Equal(protocolVersion, client.NegotiatedProtocolVersion);
            Assert.Equal("switchboard", client.ServerInfo?.Name);
            tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
            echo = await client.CallToolAsync("text_echo", new Dictionary<string, object?> { ["text"] = TrickyText }, cancellationToken: cancellationToken);
        }

        // Disposing closes the server's standard input and waits for it to exit (killing it after 5 s).
        var completion = Assert.IsType<StdioClientCompletionDetails>(await client.Completion.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken));
        Assert.Equal(0, completion.ExitCode);
        Assert.Equal(SwitchboardServeFixture.SampleTools, tools.Select(t => t.Name));
        Assert.NotEqual(true, echo.IsError);
        Assert.Equal(TrickyText, Assert.IsType<TextContentBlock>(Assert.Single(echo.Content)).Text);
        lock (stderr)
        {
            Assert.Contains(stderr, line => line.Contains("Plugin text 1.0.0 loaded with 2 tools", StringComparison.Ordinal));
        }
    }
}
