using System.Net;
using System.Text.Json;
using Switchboard.Scaling;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Scaling;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Probes_ReportAliveAndReady_WithComponents()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        using var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative), TestContext.Current.CancellationToken);
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("ready", body.RootElement.GetProperty("components").GetProperty("storage").GetString());
        Assert.Equal("ready", body.RootElement.GetProperty("components").GetProperty("plugins").GetString());
    }

    [Fact]
    public async Task Readiness_IsNotReadyWhileAPartStarts_AndAfterShutdownBegins()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        var readiness = server.GetRequiredService<ReadinessState>();

        readiness.Register("warmup");
        using (var starting = await http.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
            Assert.Contains("\"warmup\":\"starting\"", await starting.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        readiness.MarkReady("warmup");
        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        readiness.MarkStopping();
        using var stopping = await http.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stopping.StatusCode);
        Assert.Contains("\"status\":\"stopping\"", await stopping.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_ReportsWarm_OnceTheDetectorsHaveLoadedInTheBackground()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        // Ready at once; warm when the background warm-up has loaded the detectors (no call needed for that).
        var warm = await Eventually.ValueAsync(
            async () => JsonDocument.Parse(await http.GetStringAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken)),
            body => body.RootElement.GetProperty("warm").GetBoolean(),
            "the readiness report to say warm");
        using (warm)
        {
            Assert.Equal("ready", warm.RootElement.GetProperty("status").GetString());
            Assert.Equal("done", warm.RootElement.GetProperty("warmup").GetProperty("detectors").GetString());
        }
    }

    [Fact]
    public void ReadinessSnapshot_DerivesItsFlagsFromTheStatesItLists()
    {
        var sut = new ReadinessState();
        Assert.False(sut.Snapshot().IsReady);
        sut.Register("storage");
        sut.RegisterWarmup("detectors");

        var starting = sut.Snapshot();
        sut.MarkReady("storage");
        sut.MarkWarm("detectors");
        var warm = sut.Snapshot();
        sut.MarkStopping();
        var stopping = sut.Snapshot();

        // The earlier copy keeps describing the moment it was taken, flags and lists alike.
        Assert.Equal((false, false, ComponentState.Starting, ComponentState.Starting), (starting.IsReady, starting.IsWarm, starting.Components.Single().Value, starting.Warmups.Single().Value));
        Assert.Equal((true, true, ComponentState.Ready, ComponentState.Ready), (warm.IsReady, warm.IsWarm, warm.Components.Single().Value, warm.Warmups.Single().Value));
        Assert.Equal((false, true), (stopping.IsReady, stopping.IsStopping));
    }

    [Fact]
    public void ReadinessState_WarmsIndependentlyOfReadiness_AndAFailedWarmupStillEndsWarmingUp()
    {
        var sut = new ReadinessState();
        sut.Register("storage");
        sut.MarkReady("storage");
        sut.RegisterWarmup("detectors");
        sut.RegisterWarmup("cache");

        Assert.True(sut.IsReady);
        Assert.False(sut.IsWarm);
        sut.MarkWarm("detectors");
        Assert.False(sut.IsWarm);
        sut.MarkWarmupFailed("cache");
        Assert.True(sut.IsWarm);
        Assert.True(sut.IsReady);
    }

    [Fact]
    public void ReadinessState_WithNoParts_IsNotReady()
    {
        var sut = new ReadinessState();
        Assert.False(sut.IsReady);
        sut.Register("a");
        sut.MarkFailed("a");
        Assert.False(sut.IsReady);
    }

    [Fact]
    public async Task Probes_IgnoreTheHostCheck_SoOrchestratorsCanCallThemByPodAddress()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.BaseUri, "/readyz"));
        request.Headers.Host = "10.1.2.3:8080";
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var mcp = new HttpRequestMessage(HttpMethod.Get, new Uri(server.BaseUri, "/metrics"));
        mcp.Headers.Host = "10.1.2.3:8080";
        using var refused = await http.SendAsync(mcp, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
