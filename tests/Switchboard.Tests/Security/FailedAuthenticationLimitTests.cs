using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// An address that keeps presenting refused credentials to the tool endpoints is refused with 429 before anything is
/// validated, until its minute is over; a client that presents none still gets the ordinary challenge.
/// </summary>
public sealed class FailedAuthenticationLimitTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A server with authentication on and this failed-authentication limit (the test server turns it off by default).</summary>
    private static Task<SwitchboardTestServer> StartAsync(int limit, FakeTimeProvider? clock)
        => SwitchboardTestServer.StartAsync(
            clock is null ? null : b => b.Services.AddSingleton<TimeProvider>(clock),
            new Dictionary<string, string?> { ["Switchboard:Security:FailedAuthenticationsPerMinute"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            authenticate: true,
            cancellationToken: Token);

    [Fact]
    public async Task RefusedCredentials_AreLimitedPerAddress_ThenEvenAValidTokenWaits_UntilTheWindowEnds()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await StartAsync(limit: 3, clock);
        var valid = server.IssueToken("tools:*");
        using var forged = server.CreateHttpClient(valid[..^4] + "AAAA");
        using var malformed = server.CreateHttpClient();
        malformed.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer two tokens");
        using var good = server.CreateHttpClient(valid);
        using var anonymous = server.CreateHttpClient();

        // Two forged signatures and one malformed header use up the minute.
        for (var i = 0; i < 2; i++)
        {
            var refused = await McpHttp.SendAsync(forged, McpHttp.ModernRequest(server.McpUri, "tools/list"), Token);
            Assert.Equal(401, refused.Status);
        }

        using (var bad = await malformed.GetAsync("/v1/tools", Token))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        // Now the valid token is refused too, without being checked: on MCP a JSON-RPC error, on REST problem details.
        using (var request = McpHttp.ModernRequest(server.McpUri, "tools/list"))
        using (var limited = await good.SendAsync(request, Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);
            var body = JsonNode.Parse(await limited.Content.ReadAsStringAsync(Token))!;
            Assert.Equal(-32000, body["error"]!["code"]!.GetValue<int>());
            Assert.DoesNotContain(valid, body.ToJsonString(), StringComparison.Ordinal);
        }

        using (var limitedRest = await good.GetAsync("/v1/tools", Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limitedRest.StatusCode);
            Assert.Equal("application/problem+json", limitedRest.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Too Many Requests", JsonNode.Parse(await limitedRest.Content.ReadAsStringAsync(Token))!["title"]!.GetValue<string>());
        }

        // No credentials at all is the start of the OAuth flow, not a guess: still the ordinary challenge.
        var challenge = await McpHttp.SendAsync(anonymous, McpHttp.ModernRequest(server.McpUri, "tools/list"), Token);
        Assert.Equal(401, challenge.Status);

        clock.Advance(TimeSpan.FromSeconds(59));
        using (var stillLimited = await good.GetAsync("/v1/tools", Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, stillLimited.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), stillLimited.Headers.RetryAfter?.Delta);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        using var allowed = await good.GetAsync("/v1/tools", Token);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task TheAuditEndpoints_ShareTheCount_WithTheToolEndpoints()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await StartAsync(limit: 2, clock);
        var auditor = server.IssueToken("audit:read tools:*");
        using var forged = server.CreateHttpClient(auditor[..^4] + "AAAA");
        using var good = server.CreateHttpClient(auditor);

        using (var first = await forged.GetAsync("/audit/proof/0", Token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        }

        using (var second = await forged.GetAsync("/v1/tools", Token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        }

        using (var limitedProof = await good.GetAsync("/audit/proof/0", Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limitedProof.StatusCode);
            Assert.NotNull(limitedProof.Headers.RetryAfter?.Delta);
        }

        using (var limitedTools = await good.GetAsync("/v1/tools", Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limitedTools.StatusCode);
        }

        clock.Advance(TimeSpan.FromMinutes(1));
        using var proof = await good.GetAsync("/audit/proof/0", Token);
        Assert.Equal(HttpStatusCode.OK, proof.StatusCode);
    }

    [Fact]
    public async Task ValidCredentials_NeverCountTowardsTheLimit()
    {
        await using var server = await StartAsync(limit: 2, clock: null);
        using var good = server.CreateHttpClient(server.IssueToken("tools:*"));

        for (var i = 0; i < 10; i++)
        {
            using var answer = await good.GetAsync("/v1/tools", Token);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
    }

    [Fact]
    public void Limiter_CountsPerAddress_TreatsMappedIPv4AsIPv4_AndZeroMeansNoLimit()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var settings = new SecurityOptions { FailedAuthenticationsPerMinute = 2 };
        var limiter = new FailedAuthenticationLimiter(Options.Create(settings), clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<FailedAuthenticationLimiter>.Instance);
        var attacker = IPAddress.Parse("203.0.113.7");
        var neighbour = IPAddress.Parse("203.0.113.8");

        Assert.False(limiter.IsBlocked(attacker, out _));
        Assert.False(limiter.RecordFailure(attacker));
        Assert.True(limiter.RecordFailure(attacker.MapToIPv6()), "the second failure reaches the limit, whichever form of the address");
        Assert.True(limiter.IsBlocked(attacker, out var retryAfter));
        Assert.Equal(TimeSpan.FromMinutes(1), retryAfter);
        Assert.True(limiter.IsBlocked(attacker, out _), "checking does not use up anything, nor does it lift the block");
        Assert.False(limiter.IsBlocked(neighbour, out _));

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.False(limiter.IsBlocked(attacker, out _));

        settings.FailedAuthenticationsPerMinute = 0;
        for (var i = 0; i < 100; i++)
        {
            Assert.False(limiter.RecordFailure(neighbour));
        }

        Assert.False(limiter.IsBlocked(neighbour, out _));
    }
}
