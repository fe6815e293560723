using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;
using static Switchboard.Tests.Plugins.Upstreams.GatewayClient;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// The real <c>switchboard serve</c> executable: the example configuration works as the README says, and stopping the
/// gateway (SIGTERM) leaves none of its upstream processes behind, counted from the process table.
/// </summary>
public sealed class ServeProcessTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ExampleConfiguration_MountsEverythingBesideTheSamples_AndStoppingLeavesNoProcessBehind()
    {
        UpstreamConfig.RequireNode();
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(
            ["serve", "--no-auth", "--config", "examples/switchboard.upstreams.json", "--urls", "http://127.0.0.1:0", "--data", data.Path],
            workingDirectory: NodeTooling.RepositoryRoot);
        await process.WaitUntilServingAsync(Token);

        await Eventually.TrueAsync(
            () => System.Text.RegularExpressions.Regex.IsMatch(process.StandardOutput, @"Plugins: +clock 1\.0\.0 \(2 tools\), conversation 1\.0\.0 \(1 tool\), everything 2026\.8\.31 \(\d+ tools\), orders 1\.0\.0 \(3 tools\), support 1\.0\.0 \(4 tools\), text 1\.0\.0 \(2 tools\)"),
            "the banner's plugin line");
        await using (var client = await ConnectAsync(RawModern, process.BaseUri))
        {
            var names = await client.ListToolNamesAsync();
            Assert.Contains("everything_echo", names);
            Assert.Contains("everything_tiny_image", names);
            Assert.Contains("text_echo", names);
            Assert.Contains("clock_now", names);
            Assert.Equal("Echo: from the example", Text(await client.CallAsync("everything_echo", new JsonObject { ["message"] = "from the example" })));
        }

        var children = ProcessTable.DescendantsOf(process.Id);
        Assert.NotEmpty(children);

        Assert.Equal(0, await process.TerminateAsync(TimeSpan.FromSeconds(30)));
        // A killed process takes a moment to be reaped; what matters is that none survives.
        await Eventually.TrueAsync(() => !children.Any(ProcessTable.IsAlive), "every upstream process to end with the gateway", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Sigterm_EndsEveryUpstreamProcess_IncludingOneThatIgnoresItsInputClosing_AndOneMidCall()
    {
        UpstreamConfig.RequireNode();
        using var data = new TemporaryDirectory();
        using var stubborn = new MisbehavingUpstream("stubborn");
        using var busy = new MisbehavingUpstream("busy");
        var environment = UpstreamConfig.Merge(stubborn.Configuration(keepAlive: true), busy.Configuration())
            .With("Switchboard:Http:ShutdownTimeout", "00:00:01")
            .ToDictionary(p => p.Key.Replace(":", "__", StringComparison.Ordinal), p => p.Value);
        await using var process = SwitchboardProcess.Start(
            ["serve", "--no-auth", "--urls", "http://127.0.0.1:0", "--data", data.Path],
            environment: environment,
            workingDirectory: data.Path);
        await process.WaitUntilServingAsync(Token);
        await using var client = await ConnectAsync(RawModern, process.BaseUri);
        Assert.Contains(Text(await client.CallAsync("stubborn_pid", [])), stubborn.StartedPids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var inFlight = client.CallAsync("busy_hang", []);
        await busy.WaitForEventAsync("call hang");

        var children = ProcessTable.DescendantsOf(process.Id);
        Assert.Superset(stubborn.StartedPids.Concat(busy.StartedPids).ToHashSet(), children.ToHashSet());

        Assert.Equal(0, await process.TerminateAsync(TimeSpan.FromSeconds(30)));
        // A killed process takes a moment to be reaped; what matters is that none survives.
        await Eventually.TrueAsync(() => !children.Any(ProcessTable.IsAlive), "every upstream process to end with the gateway", TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(() => inFlight);
    }
}
