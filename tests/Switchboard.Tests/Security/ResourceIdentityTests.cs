using Switchboard.Security;

namespace Switchboard.Tests.Security;

public sealed class ResourceIdentityTests
{
    [Theory]
    [InlineData("HTTP://Example.COM:443/mcp/", "http://example.com:443/mcp")]
    [InlineData("https://example.com:443/mcp", "https://example.com/mcp")]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080")]
    [InlineData("http://+:8080", "http://localhost:8080")]
    [InlineData("http://*:8080", "http://localhost:8080")]
    [InlineData("http://0.0.0.0:8080", "http://localhost:8080")]
    [InlineData("http://[::]:8080/mcp", "http://localhost:8080/mcp")]
    [InlineData("http://[::1]:8080", "http://[::1]:8080")]
    public void Normalize_GivesTheCanonicalForm_AndNamesWildcardBindsLocalhost(string uri, string expected)
        => Assert.Equal(expected, ResourceIdentity.Normalize(uri));
}
