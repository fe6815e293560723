using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// The validated-token cache must never accept what a full validation would refuse: a token it remembers stops working
/// when it expires (exp plus skew) and when the key that verified it is revoked, and eviction never turns a valid token
/// away. Each case first presents the token so that it is cached, then changes the world.
/// </summary>
public sealed class ValidatedTokenCacheTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<(SwitchboardTestServer Server, FakeTimeProvider Clock)> StartAsync(int cacheSize = 10_000)
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<TimeProvider>(clock),
            configuration: new Dictionary<string, string?>
            {
                ["Switchboard:Security:ValidatedTokenCacheSize"] = cacheSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Switchboard:WebSockets:IdleTimeout"] = "01:00:00",
            },
            authenticate: true,
            cancellationToken: Token);
        return (server, clock);
    }

    private static async Task<HttpStatusCode> ListAsync(SwitchboardTestServer server, string token)
    {
        using var http = server.CreateHttpClient(token);
        using var response = await http.GetAsync("/v1/tools", Token);
        return response.StatusCode;
    }

    [Fact]
    public async Task ACachedToken_IsRefusedOnceItsKeyIsRevoked()
    {
        var (server, _) = await StartAsync();
        await using var _server = server;
        var token = server.IssueToken("tools:*");
        Assert.Equal(HttpStatusCode.OK, await ListAsync(server, token));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(server, token));

        var ring = server.GetRequiredService<SigningKeyRing>();
        var kid = CompactJwt.KidOf(token);
        Assert.True(await ring.RevokeAsync(kid, Token));

        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(server, token));
    }

    [Fact]
    public async Task ACachedToken_IsAcceptedUntilExpiryPlusSkew_AndRefusedAfter()
    {
        var (server, clock) = await StartAsync();
        await using var _server = server;
        var token = server.IssueToken("tools:*", lifetime: TimeSpan.FromMinutes(5));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(server, token));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(server, token));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(server, token));
    }

    [Fact]
    public async Task ATinyCache_EvictsWithoutRefusingValidTokens_AndNeverAcceptsATamperedCopy()
    {
        var (server, _) = await StartAsync(cacheSize: 1);
        await using var _server = server;
        var first = server.IssueToken("tools:*", subject: "first");
        var second = server.IssueToken("tools:*", subject: "second");
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(HttpStatusCode.OK, await ListAsync(server, first));
            Assert.Equal(HttpStatusCode.OK, await ListAsync(server, second));
        }

        // Same header and claims, another signature: a different token to the cache, refused by the full check.
        var signature = first[(first.LastIndexOf('.') + 1)..];
        var tampered = first[..(first.LastIndexOf('.') + 1)] + (signature[0] == 'A' ? 'B' : 'A') + signature[1..];
        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(server, tampered));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(server, first));
    }
}
