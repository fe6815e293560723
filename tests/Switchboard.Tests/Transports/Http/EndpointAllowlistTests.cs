using Microsoft.AspNetCore.Http;
using Switchboard.Hosting;
using Switchboard.Transports.Http;

namespace Switchboard.Tests.Transports.Http;

public class EndpointAllowlistTests
{
    [Fact]
    public void Build_LoopbackBinding_AllowsEveryLoopbackNameOnThatPort()
    {
        var sut = EndpointAllowlist.Build(["http://127.0.0.1:8080"], new HttpOptions());

        Assert.Equal(["127.0.0.1", "[::1]", "localhost"], sut.Hosts.Order(StringComparer.Ordinal));
        Assert.Contains("http://localhost:8080", sut.Origins);
        Assert.Contains("http://127.0.0.1:8080", sut.Origins);
        Assert.DoesNotContain("http://localhost:8081", sut.Origins);
    }

    [Fact]
    public void Build_WildcardBinding_DerivesTheLoopbackNamesOnly()
    {
        var sut = EndpointAllowlist.Build(["http://0.0.0.0:8080", "http://[::]:8080"], new HttpOptions());

        Assert.Equal(["127.0.0.1", "[::1]", "localhost"], sut.Hosts.Order(StringComparer.Ordinal));
        Assert.Equal(["http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080"], sut.Origins.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Build_ConfiguredEntries_AreNormalized()
    {
        var sut = EndpointAllowlist.Build([], new HttpOptions { AllowedHosts = ["MCP.Example.com:443"], AllowedOrigins = ["https://App.Example.com:443", "http://tool.example.com:8080"] });

        Assert.Contains("mcp.example.com", sut.Hosts);
        Assert.Contains("https://app.example.com", sut.Origins);
        Assert.Contains("http://tool.example.com:8080", sut.Origins);
    }

    [Fact]
    public void Build_Star_AllowsAny()
    {
        var sut = EndpointAllowlist.Build([], new HttpOptions { AllowedHosts = ["*"], AllowedOrigins = ["*"] });
        Assert.True(sut.AnyHost);
        Assert.True(sut.AnyOrigin);
    }

    [Theory]
    [InlineData("http://a.example.com", true, "http://a.example.com")]
    [InlineData("https://A.example.com:443", true, "https://a.example.com")]
    [InlineData("http://a.example.com/path", false, "")]
    [InlineData("ftp://a.example.com", false, "")]
    [InlineData("null", false, "")]
    [InlineData("http://user@a.example.com", false, "")]
    public void TryNormalizeOrigin(string origin, bool valid, string expected)
    {
        Assert.Equal(valid, EndpointAllowlist.TryNormalizeOrigin(origin, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.1.2.3", true)]
    [InlineData("[::1]", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("example.com", false)]
    public void IsLoopback(string host, bool expected) => Assert.Equal(expected, Switchboard.Hosting.ListenAddressPolicy.IsLoopback(host));

    [Fact]
    public void HostString_WithPort_MatchesOnHostOnly()
    {
        // The Host check ignores the port (the listener already decided it); only the name matters for DNS rebinding.
        Assert.Equal("localhost", new HostString("localhost:1234").Host);
    }
}
