using Switchboard.Bench.Load;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Bench;

/// <summary>The load generator against a real Switchboard: it speaks every transport correctly (zero errors) and says which it measured.</summary>
public sealed class LoadRunnerTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal static LoadOptions Short(Uri baseUri, BenchTransport transport, int connections = 3, int inFlight = 1) => new()
    {
        BaseUri = baseUri,
        Transport = transport,
        Connections = connections,
        InFlight = inFlight,
        // Long enough that a stall of a loaded test machine (the suite runs several load tests at once) cannot swallow
        // the whole window; the assertions count answers, never time them.
        Warmup = TimeSpan.FromMilliseconds(500),
        Duration = TimeSpan.FromMilliseconds(1500),
        Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>
    /// For a real Switchboard: long enough that a call completes inside the window even when the server's first calls
    /// are slow (cold JIT, the audit log's first durable commits) and the whole suite shares the two cores. The
    /// assertions count calls, never time them.
    /// </summary>
    internal static LoadOptions Settled(Uri baseUri, BenchTransport transport, int connections = 3, int inFlight = 1)
        => Short(baseUri, transport, connections, inFlight) with { Warmup = TimeSpan.FromSeconds(1), Duration = TimeSpan.FromSeconds(3) };

    [Theory]
    [InlineData(BenchTransport.Rest, 1)]
    [InlineData(BenchTransport.McpModern, 1)]
    [InlineData(BenchTransport.McpLegacy, 1)]
    [InlineData(BenchTransport.WsModern, 4)]
    [InlineData(BenchTransport.WsLegacy, 4)]
    public async Task RunAsync_AgainstSwitchboard_CountsCallsWithNoErrorsAndNamesTheTransport(BenchTransport transport, int inFlight)
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);

        var sut = await LoadRunner.RunAsync(Settled(server.BaseUri, transport, inFlight: inFlight), Token);

        Assert.Equal(transport.ToName(), sut.Transport);
        Assert.Equal(transport.Describe(), sut.TransportDescription);
        Assert.Equal(0, sut.Errors);
        Assert.Empty(sut.ErrorKinds);
        Assert.Equal(0, sut.WarmupErrors);
        Assert.True(sut.Ok > 0, "no successful calls");
        Assert.Equal(sut.Ok, sut.Latency.Count);
        Assert.True(sut.Latency.P50Ms <= sut.Latency.P99Ms && sut.Latency.P99Ms <= sut.Latency.MaxMs);
    }

    [Fact]
    public async Task RunAsync_AuthenticatedServerWithToken_HasNoErrors()
    {
        await using var server = await SwitchboardTestServer.StartAsync(authenticate: true, cancellationToken: Token);
        var options = Settled(server.BaseUri, BenchTransport.McpModern) with
        {
            Headers = [new("Authorization", "Bearer " + server.GetRequiredService<AccessTokenIssuer>().Issue(new TokenRequest("switchboard-bench", "switchboard-bench", "tools:*")).AccessToken)],
        };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Errors);
        Assert.True(sut.Ok > 0);
    }

    [Fact]
    public async Task RunAsync_AuthenticatedServerWithoutToken_CountsEveryCallAsAnError()
    {
        await using var server = await SwitchboardTestServer.StartAsync(authenticate: true, cancellationToken: Token);

        var sut = await LoadRunner.RunAsync(Settled(server.BaseUri, BenchTransport.Rest), Token);

        Assert.Equal(0, sut.Ok);
        Assert.True(sut.Errors > 0);
        Assert.True(sut.ErrorKinds["http_status"] > 0);
    }

    [Fact]
    public async Task RunAsync_UnknownTool_CountsJsonRpcErrors()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        var options = Settled(server.BaseUri, BenchTransport.WsModern, inFlight: 2) with { Target = CallTarget.TextEcho with { Tool = "text_nope" } };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.Equal(sut.Errors, sut.ErrorKinds["jsonrpc_error"]);
    }

    [Fact]
    public async Task RunAsync_WrongExpectedText_CountsWrongContent()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: Token);
        var options = Settled(server.BaseUri, BenchTransport.McpLegacy) with { Target = CallTarget.TextEcho with { ExpectedText = "something else" } };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.Equal(sut.Errors, sut.ErrorKinds["wrong_content"]);
    }
}
