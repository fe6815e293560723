using Switchboard.Bench.Load;

namespace Switchboard.Tests.Bench;

/// <summary>Against a server that answers wrongly on purpose, every wrong answer is counted, by kind, and none counts as throughput.</summary>
public sealed class ErrorCountingTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/error", "jsonrpc_error")]
    [InlineData("/iserror", "tool_error")]
    [InlineData("/wrong-id", "wrong_id")]
    [InlineData("/status500", "http_status")]
    public async Task RunAsync_HttpAnswersThatAreWrong_AreCountedByKind(string path, string kind)
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.McpModern) with { McpPath = path };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.Equal(0, sut.Throughput);
        Assert.True(sut.Errors > 0);
        Assert.Equal(new Dictionary<string, long> { [kind] = sut.Errors }, sut.ErrorKinds);
    }

    [Fact]
    public async Task RunAsync_FakeThatAnswersCorrectly_HasNoErrors()
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.McpModern) with { McpPath = "/ok" };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Errors);
        Assert.True(sut.Ok > 0);
    }

    [Fact]
    public async Task RunAsync_NoAnswerInTime_CountsTimeouts()
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.McpModern, connections: 2) with
        {
            McpPath = "/slow",
            Warmup = TimeSpan.Zero,
            Duration = TimeSpan.FromSeconds(2),
            Timeout = TimeSpan.FromMilliseconds(200),
        };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.True(sut.ErrorKinds["timeout"] >= 2);
    }

    [Theory]
    [InlineData("/ws-wrong-id", "wrong_id", 4)]
    [InlineData("/ws-error", "jsonrpc_error", 4)]
    public async Task RunAsync_WebSocketAnswersThatAreWrong_AreCountedByKind(string path, string kind, int inFlight)
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.WsModern, connections: 2, inFlight: inFlight) with
        {
            WebSocketPath = path,
            // Also the WebSocket connect timeout: short enough that a wrong id times out within the window, long enough
            // for the upgrade on a loaded machine.
            Timeout = TimeSpan.FromSeconds(1),
        };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.True(sut.ErrorKinds.GetValueOrDefault(kind) > 0, $"no '{kind}' counted; errors by kind: {string.Join(", ", sut.ErrorKinds.Select(p => $"{p.Key}={p.Value}"))}");
    }

    [Fact]
    public async Task RunAsync_WebSocketFakeThatAnswersCorrectly_HasNoErrors()
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.WsModern, inFlight: 8) with { WebSocketPath = "/ws-ok" };

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Errors);
        Assert.True(sut.Ok > 0);
        Assert.Equal("ws-modern", sut.Transport);
    }

    [Theory]
    [InlineData("/ws-ok", 3, true)]
    [InlineData("/ws-error", 2, false)]
    public async Task IdleConnection_MakesTheCallsAskedFor_AndIsReturnedOpenOnlyIfAllSucceeded(string path, int calls, bool open)
    {
        await using var server = await FakeMcpServer.StartAsync(Token);
        var options = LoadRunnerTests.Short(server.BaseUri, BenchTransport.WsModern) with { WebSocketPath = path };

        using var socket = await Switchboard.Bench.Idle.IdleConnectionsRunner.OpenAndCallAsync(options, RequestTemplate.Create(options.Transport, options.Target), calls, Token);

        // An error answer ends the connection's calls at the first one: it is not held as an idle connection.
        Assert.Equal(open, socket is { State: System.Net.WebSockets.WebSocketState.Open });
        Assert.Equal(open ? calls : 0, server.AnsweredOnWebSockets);
    }

    [Fact]
    public async Task RunAsync_NothingListening_CountsConnectionFailures()
    {
        var port = Switchboard.Bench.Processes.Probe.FreePort();
        var options = LoadRunnerTests.Short(new Uri($"http://127.0.0.1:{port}"), BenchTransport.Rest, connections: 2);

        var sut = await LoadRunner.RunAsync(options, Token);

        Assert.Equal(0, sut.Ok);
        Assert.True(sut.WarmupErrors + sut.Errors > 0);
    }
}
