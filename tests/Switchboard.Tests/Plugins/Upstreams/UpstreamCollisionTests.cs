using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Hosting;
using Switchboard.Hosting.Cli;
using Switchboard.Tests.TestSupport;
using static Switchboard.Tests.Plugins.Upstreams.GatewayClient;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>
/// Name collisions between upstream tools and other plugins are found when the catalog loads and name both sources; a
/// per-tool alias (<c>Switchboard:Plugins:&lt;upstream&gt;:Tools:&lt;tool&gt;:Alias</c>) resolves them. A collision that
/// arrives later (an upstream's list_changed) is refused and the previous list stays.
/// </summary>
public sealed class UpstreamCollisionTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UpstreamNamedLikeAnInProcessPlugin_StopsTheStart_NamingBothSources()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream("text");

        var message = await StartupFailureAsync(upstream.Configuration());

        Assert.Contains("Plugin name 'text' is registered twice", message, StringComparison.Ordinal);
        Assert.Contains("in-process type Switchboard.Plugins.Samples.TextTools", message, StringComparison.Ordinal);
        Assert.Contains("upstream MCP server 'text' (stdio: node)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamToolCollidingWithAnotherPluginsTool_StopsTheStart_NamingBoth_AndAnAliasResolvesIt()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var colliding = upstream.Configuration().With("Switchboard:Plugins:text:Tools:echo:Alias", "misbehaving_echo");

        var message = await StartupFailureAsync(colliding);

        Assert.Contains("Tool name 'misbehaving_echo' is produced by both", message, StringComparison.Ordinal);
        Assert.Contains("tool 'echo' of plugin 'misbehaving' 1.0.0 (upstream MCP server 'misbehaving' (stdio: node))", message, StringComparison.Ordinal);
        Assert.Contains("tool 'echo' of plugin 'text' 1.0.0 (in-process type Switchboard.Plugins.Samples.TextTools)", message, StringComparison.Ordinal);

        var resolved = colliding.With("Switchboard:Plugins:misbehaving:Tools:echo:Alias", "mb_echo");
        await using var server = await SwitchboardTestServer.StartAsync(configuration: resolved, cancellationToken: Token);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);
        Assert.Equal("upstream", Text(await client.CallAsync("mb_echo", new JsonObject { ["text"] = "upstream" })));
        Assert.Equal("local", Text(await client.CallAsync("misbehaving_echo", new JsonObject { ["text"] = "local" })));
    }

    [Fact]
    public async Task UpstreamToolsThatSanitiseToOneName_AreACollision_UntilOneGetsAnAlias()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var colliding = upstream.Configuration().With("Switchboard:Upstreams:misbehaving:Environment:MISBEHAVE_EXTRA_TOOLS", "v1.sum,v1-sum");

        var message = await StartupFailureAsync(colliding);

        Assert.Contains("Tool name 'misbehaving_v1-sum' is produced by both tool 'v1.sum' of plugin 'misbehaving'", message, StringComparison.Ordinal);
        Assert.Contains("and tool 'v1-sum' of plugin 'misbehaving'", message, StringComparison.Ordinal);

        await using var server = await SwitchboardTestServer.StartAsync(
            configuration: colliding.With("Switchboard:Plugins:misbehaving:Tools:v1.sum:Alias", "misbehaving_v1_sum"),
            cancellationToken: Token);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);
        Assert.Equal("v1.sum", Text(await client.CallAsync("misbehaving_v1_sum", [])));
        Assert.Equal("v1-sum", Text(await client.CallAsync("misbehaving_v1-sum", [])));
    }

    [Fact]
    public async Task CollisionArrivingWithAListChange_IsRefused_ThePreviousListStays_AndAvailabilityStillUpdates()
    {
        UpstreamConfig.RequireNode();
        using var upstream = new MisbehavingUpstream();
        var logs = new CapturingLoggerProvider();
        var configuration = upstream.Configuration()
            .With("Switchboard:Plugins:text:Tools:echo:Alias", "misbehaving_added_1")
            .With("Switchboard:Upstreams:misbehaving:Restart:InitialDelay", "00:01:00")
            .With("Switchboard:Upstreams:misbehaving:Restart:MaxDelay", "00:01:00");
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<ILoggerProvider>(logs),
            configuration: configuration,
            cancellationToken: Token);
        await using var client = await ConnectAsync(RawModern, server.BaseUri);

        Assert.Equal("added_1", Text(await client.CallAsync("misbehaving_add_tool", [])));

        await Eventually.TrueAsync(
            () => logs.Messages.Any(m => m.Contains("An upstream's new tool list cannot be served", StringComparison.Ordinal) && m.Contains("misbehaving_added_1", StringComparison.Ordinal)),
            "the refused list to be logged");
        Assert.Equal("still text", Text(await client.CallAsync("misbehaving_added_1", new JsonObject { ["text"] = "still text" })));

        // The next change (the upstream crashing, and staying down) still reaches the catalog, built from the
        // accepted list: the upstream's newest list still holds the colliding tool.
        Assert.True(IsError(await client.CallAsync("misbehaving_crash", [])));
        await Eventually.ValueAsync(
            async () => (await client.ListToolsAsync()).Single(t => t["name"]!.GetValue<string>() == "misbehaving_echo")["_meta"]!["switchboard/upstream"]!["available"]!.GetValue<bool>(),
            available => !available,
            "the crashed upstream's tools to be marked");
        Assert.Equal("still text", Text(await client.CallAsync("misbehaving_added_1", new JsonObject { ["text"] = "still text" })));
    }

    /// <summary>Starts a server as <c>switchboard serve</c> does, expecting it to refuse; disposing it ends the upstreams it had started.</summary>
    private static async Task<string> StartupFailureAsync(Dictionary<string, string?> configuration)
    {
        using var data = new TemporaryDirectory();
        var settings = new ServeSettings { Urls = "http://127.0.0.1:0", DataDirectory = data.Path, ConfigurationOverrides = configuration, BannerWriter = TextWriter.Null };
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = SwitchboardServer.Build(settings);
            await app.StartAsync(Token);
        });
        return HostRunner.DescribeStartupFailure(failure) ?? throw new Xunit.Sdk.XunitException("Not a start-up failure: " + failure);
    }
}
