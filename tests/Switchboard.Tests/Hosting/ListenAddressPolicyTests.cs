using Switchboard.Hosting;

namespace Switchboard.Tests.Hosting;

public class ListenAddressPolicyTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:8080")]
    [InlineData("http://127.0.0.1:0;http://[::1]:0")]
    [InlineData("https://127.0.0.1:8443")]
    public void Parse_WithoutAuthentication_AcceptsLoopback(string urls)
        => Assert.NotEmpty(ListenAddressPolicy.Parse(urls, authenticationRequired: false));

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("http://myhost:8080")]
    public void Parse_WithoutAuthentication_RefusesEverythingElse(string urls)
    {
        var ex = Assert.Throws<SwitchboardStartupException>(() => ListenAddressPolicy.Parse(urls, authenticationRequired: false));
        Assert.Contains("loopback", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--no-auth", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://10.0.0.5:8080;http://127.0.0.1:8081")]
    public void Parse_WithAuthentication_AcceptsAnyAddress(string urls)
        => Assert.NotEmpty(ListenAddressPolicy.Parse(urls, authenticationRequired: true));

    [Theory]
    [InlineData("")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://127.0.0.1:8080/mcp")]
    public void Parse_RefusesMalformedAddresses(string urls)
        => Assert.Throws<SwitchboardStartupException>(() => ListenAddressPolicy.Parse(urls, authenticationRequired: true));
}
