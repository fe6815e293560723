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
    public void ParseLoopbackOnly_AcceptsLoopback(string urls) => Assert.NotEmpty(ListenAddressPolicy.ParseLoopbackOnly(urls));

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://[::]:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("http://myhost:8080")]
    public void ParseLoopbackOnly_RefusesEverythingElse(string urls)
    {
        var ex = Assert.Throws<SwitchboardStartupException>(() => ListenAddressPolicy.ParseLoopbackOnly(urls));
        Assert.Contains("loopback", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://127.0.0.1:8080/mcp")]
    public void ParseLoopbackOnly_RefusesMalformedAddresses(string urls)
        => Assert.Throws<SwitchboardStartupException>(() => ListenAddressPolicy.ParseLoopbackOnly(urls));
}
