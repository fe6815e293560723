using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>The refusal a case must get.</summary>
public enum Refusal
{
    /// <summary>REJECT-401: <c>Bearer error="invalid_token", resource_metadata="…"</c>, the one body every invalid token gets.</summary>
    InvalidToken,

    /// <summary>NOAUTH-401: <c>Bearer resource_metadata="…"</c> with no error code (no credentials where we look for them).</summary>
    NoCredentials,

    /// <summary>REJECT-400: <c>Bearer error="invalid_request", …</c> (the Authorization header is not one bearer token).</summary>
    MalformedCredentials,

    /// <summary>431 from Kestrel: the headers are over its limits, before any of our code runs.</summary>
    HeadersTooLarge,
}

/// <summary>
/// One attack from the catalog (<c>security-and-reliability-catalog.md</c> §1.3/§1.5): its catalog ID, the variant, what
/// the request carries, and the refusal it must get. <see cref="Name"/> is what the test explorer shows.
/// </summary>
public sealed record AttackCase(string Id, string Variant, Refusal Expected, Func<AttackSuiteFixture, Presentation> Build)
{
    public string Name => $"{Id} {Variant}";

    /// <summary>Sent to the RS256 server instead of the ES256 one.</summary>
    public bool OnRsaServer { get; init; }

    /// <summary>The token claims an external issuer, so fetching that issuer's (configured) JWKS is legitimate.</summary>
    public bool External { get; init; }

    /// <summary>Transports this case applies to; all three unless the case cannot be expressed on one.</summary>
    public IReadOnlyList<AttackTransport> Transports { get; init; } = [AttackTransport.Mcp, AttackTransport.WebSocket, AttackTransport.Rest];
}

/// <summary>Runs a case and checks everything the suite promises about a refusal.</summary>
public static class AttackAssert
{
    public static string NoCredentialsChallenge => $"Bearer resource_metadata=\"{AttackTarget.ResourceMetadata}\"";

    public static string Challenge(string error) => $"Bearer error=\"{error}\", resource_metadata=\"{AttackTarget.ResourceMetadata}\"";

    public static async Task RefusedAsync(AttackSuiteFixture suite, AttackCase attack, AttackTransport transport)
    {
        var target = attack.OnRsaServer ? suite.Rs256 : suite.Es256;
        var presentation = attack.Build(suite);
        var callsBefore = target.Vault.Calls;
        var jwksBefore = suite.Jwks.TotalRequests;

        var observed = await AttackClient.SendAsync(target, transport, presentation, TestContext.Current.CancellationToken);

        switch (attack.Expected)
        {
            case Refusal.InvalidToken:
                Assert.Equal(401, observed.Status);
                Assert.Equal(Challenge("invalid_token"), observed.Challenge);
                Assert.Equal(await suite.ReferenceBodyAsync(target, transport), observed.Body);
                break;
            case Refusal.NoCredentials:
                Assert.Equal(401, observed.Status);
                Assert.Equal(NoCredentialsChallenge, observed.Challenge);
                Assert.Equal(await suite.ReferenceBodyAsync(target, transport), observed.Body);
                break;
            case Refusal.MalformedCredentials:
                Assert.Equal(400, observed.Status);
                Assert.Equal(Challenge("invalid_request"), observed.Challenge);
                break;
            case Refusal.HeadersTooLarge:
                Assert.Equal(431, observed.Status);
                break;
        }

        if (observed.SubProtocolHeader is { } selected)
        {
            Assert.DoesNotContain("bearer.", selected, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(callsBefore, target.Vault.Calls);
        Assert.Equal(0, suite.Canary.Connections);
        if (!attack.External)
        {
            Assert.Equal(jwksBefore, suite.Jwks.TotalRequests);
        }
    }

    /// <summary>Theory rows: every case on every transport it applies to.</summary>
    public static TheoryData<string, AttackTransport> Rows(IEnumerable<AttackCase> cases)
    {
        var rows = new TheoryData<string, AttackTransport>();
        foreach (var attack in cases)
        {
            foreach (var transport in attack.Transports)
            {
                rows.Add(attack.Name, transport);
            }
        }

        return rows;
    }
}
