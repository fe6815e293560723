using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Hosting;

/// <summary><c>switchboard health</c>, the container image's health check, as the real executable against real servers.</summary>
public sealed class HealthCommandTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Health_OfAReadyServer_ExitsZero_AndPrintsItsReadiness()
    {
        await using var server = await SwitchboardProcess.StartServeAsync(cancellationToken: Token);

        await using var health = SwitchboardProcess.Start(["health", "--url", $"http://127.0.0.1:{server.McpUri.Port}"]);

        Assert.Equal(0, await health.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("\"status\":\"ready\"", health.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>As in the image: no --url; the address comes from the environment the server runs with, a wildcard bind.</summary>
    [Fact]
    public async Task Health_WithoutUrl_AsksTheConfiguredAddress_AWildcardOnLoopback()
    {
        using var data = new TemporaryDirectory();
        var environment = new Dictionary<string, string?>
        {
            ["Switchboard__Urls"] = $"http://0.0.0.0:{LoopbackPort.Free()}",
            ["Switchboard__DataDirectory"] = data.Path,
        };
        await using var server = SwitchboardProcess.Start(["serve"], environment);
        await server.WaitUntilServingAsync(Token);

        await using var health = SwitchboardProcess.Start(["health"], environment);

        Assert.Equal(0, await health.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("http://127.0.0.1:", health.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_WithNothingListening_ExitsOne_NamingTheAddress()
    {
        var port = LoopbackPort.Free();

        await using var health = SwitchboardProcess.Start(["health", "--url", $"http://127.0.0.1:{port}"]);

        Assert.Equal(1, await health.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"127.0.0.1:{port}/readyz", health.StandardError, StringComparison.Ordinal);
    }

    /// <summary>A server that answers, but not ready (starting, or stopping after SIGTERM: 503), is not healthy.</summary>
    [Fact]
    public async Task Health_OfAServerAnswering503_ExitsOne()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var answer = Task.Run(
            async () =>
            {
                using var client = await listener.AcceptTcpClientAsync(Token);
                var stream = client.GetStream();
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer, Token);
                const string body = "{\"status\":\"stopping\"}";
                var response = $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response), Token);
            },
            Token);

        await using var health = SwitchboardProcess.Start(["health", "--url", $"http://127.0.0.1:{port}"]);

        Assert.Equal(1, await health.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("503 {\"status\":\"stopping\"}", health.StandardOutput, StringComparison.Ordinal);
        await answer;
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/readyz")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/readyz")]
    [InlineData("http://+:8080", "http://127.0.0.1:8080/readyz")]
    [InlineData("http://*:9090", "http://127.0.0.1:9090/readyz")]
    [InlineData("http://[::]:8080", "http://[::1]:8080/readyz")]
    [InlineData("https://mcp.example.com/", "https://mcp.example.com/readyz")]
    public void ReadinessUri_AsksReadyz_AWildcardHostOnLoopback(string address, string expected)
        => Assert.Equal(expected, Switchboard.Hosting.Cli.HealthCommand.ReadinessUri(address, null).ToString());

    [Fact]
    public async Task Health_OfAnAddressWithPortZero_IsAUsageError()
    {
        await using var health = SwitchboardProcess.Start(["health"], new Dictionary<string, string?> { ["Switchboard__Urls"] = "http://127.0.0.1:0" });

        Assert.Equal(2, await health.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("port 0", health.StandardError, StringComparison.Ordinal);
    }
}
