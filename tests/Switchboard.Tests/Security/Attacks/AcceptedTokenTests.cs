using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>
/// The accepted side of the catalog's edges, and the cases the catalog says to "decide and pin": each is accepted and
/// runs the tool exactly once. Besides pinning behaviour, these prove the harness can see a tool run and a 200, so the
/// refusal tests' "nothing ran" is not vacuous.
/// </summary>
[Collection(AttackSuiteDefinition.Name)]
public sealed class AcceptedTokenTests(AttackSuiteFixture suite)
{
    private static readonly AttackTransport[] s_all = [AttackTransport.Mcp, AttackTransport.WebSocket, AttackTransport.Rest];

    private sealed record Accepted(string Id, string Variant, Func<AttackSuiteFixture, Presentation> Build, bool External = false, bool OnRsaServer = false)
    {
        public string Name => $"{Id} {Variant}";
    }

    private static readonly Accepted[] s_cases =
    [
        new("KEY-01", "signed by the active key", f => Presentation.Bearer(f.Es256.Token())),
        new("KEY-01", "signed by the active RS256 key", f => Presentation.Bearer(f.Rs256.Token()), OnRsaServer: true),
        new("KEY-02", "signed by the retiring key, within the overlap", f => Presentation.Bearer(f.Es256.Token(signer: f.Retiring))),
        new("JWT-D02", "exp = now - (skew - 1 s)", f => Presentation.Bearer(f.Es256.Token(claims: c => Offsets(c, f, iat: -600, nbf: -600, exp: -59)))),
        new("JWT-D04", "nbf = now + skew exactly", f => Presentation.Bearer(f.Es256.Token(claims: c => c["nbf"] = f.Es256.Now.ToUnixTimeSeconds() + 60))),
        new("JWT-D05", "iat = now + skew exactly", f => Presentation.Bearer(f.Es256.Token(claims: c => Offsets(c, f, iat: 60, nbf: 0, exp: 660)))),
        new("JWT-D07", "exp - iat = the maximum lifetime exactly", f => Presentation.Bearer(f.Es256.Token(claims: c => Offsets(c, f, iat: 0, nbf: 0, exp: (long)AttackTarget.MaxLifetime.TotalSeconds)))),
        new("JWT-A17", "fractional NumericDate exp (legal)", f => Presentation.Bearer(f.Es256.Token(claims: c => c["exp"] = f.Es256.Now.ToUnixTimeSeconds() + 300.5))),
        new("JWT-E07", "aud array with this server and another (pinned: accepted, RFC 7519 §4.1.3)", f => Presentation.Bearer(f.Es256.Token(claims: c => c["aud"] = new JsonArray(AttackTarget.Resource, "https://other-mcp.test/mcp")))),
        new("JWT-E11", "typ AT+JWT (media types are case-insensitive)", f => Presentation.Bearer(f.Es256.Token(header: h => h["typ"] = "AT+JWT"))),
        new("JWT-E11", "typ application/at+jwt", f => Presentation.Bearer(f.Es256.Token(header: h => h["typ"] = "application/at+jwt"))),
        new("JWT-E11", "typ Application/AT+JWT", f => Presentation.Bearer(f.Es256.Token(header: h => h["typ"] = "Application/AT+JWT"))),
        new("JWT-G01", "token of exactly MaxTokenBytes", f => Presentation.Bearer(AttackCatalog.TokenOfLength(f, AttackTarget.MaxTokenBytes))),
        new("JWT-H06", "sub in full-width letters is just another principal", f => Presentation.Bearer(f.Es256.Token(claims: c => c["sub"] = "ａｌｉｃｅ"))),
        new("JWT-C02", "URL-bearing payload claims (jku, x5u, jwks_uri) pointing at the canary are never followed", f => Presentation.Bearer(f.Es256.Token(claims: c => { c["jku"] = f.Canary.Url(); c["x5u"] = f.Canary.Url("/cert.pem"); c["jwks_uri"] = f.Canary.Url(); }))),
        // Pinned: accepted. ECDSA signatures are malleable and JWS has no low-s rule; nothing here keys on signature bytes
        // or on the raw token string (no validation cache, no replay store), so the second spelling gains nothing.
        new("JWT-B13", "ECDSA malleated signature s' = n - s", f => Presentation.Bearer(Malleated(f.Es256.Token()))),
        new("JWT-H07", "scheme bearer (lower case)", f => Presentation.Raw("bearer " + f.Es256.Token())),
        new("JWT-H07", "scheme BEARER", f => Presentation.Raw("BEARER " + f.Es256.Token())),
        new("JWT-E16", "external issuer, ES256 key", f => Presentation.Bearer(f.IdpToken()), External: true),
        new("JWT-E16", "external issuer, RS256 key", f => Presentation.Bearer(f.IdpToken(signer: f.IdpRsa)), External: true),
        new("JWT-E16", "second external issuer", f => Presentation.Bearer(f.IdpToken(signer: f.Idp2, issuer: AttackSuiteFixture.Idp2Issuer)), External: true),
    ];

    public static TheoryData<string, AttackTransport> Cases
    {
        get
        {
            var rows = new TheoryData<string, AttackTransport>();
            foreach (var accepted in s_cases)
            {
                foreach (var transport in s_all)
                {
                    rows.Add(accepted.Name, transport);
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Accepted_RunsTheToolOnce(string name, AttackTransport transport)
    {
        var accepted = s_cases.Single(c => c.Name == name);
        var target = accepted.OnRsaServer ? suite.Rs256 : suite.Es256;
        var before = target.Vault.CallsOf("read");

        var observed = await AttackClient.SendAsync(target, transport, accepted.Build(suite), TestContext.Current.CancellationToken);

        AssertToolRan(observed, transport);
        Assert.Equal(before + 1, target.Vault.CallsOf("read"));
        Assert.Equal(0, suite.Canary.Connections);
    }

    [Fact]
    public async Task JWT_J01_TheSameBearerTokenReplayedWithinItsLifetime_IsAccepted_BearerSemantics()
    {
        var token = suite.Es256.Token();
        var before = suite.Es256.Vault.CallsOf("read");

        foreach (var transport in s_all)
        {
            AssertToolRan(await AttackClient.SendAsync(suite.Es256, transport, Presentation.Bearer(token), TestContext.Current.CancellationToken), transport);
            AssertToolRan(await AttackClient.SendAsync(suite.Es256, transport, Presentation.Bearer(token), TestContext.Current.CancellationToken), transport);
        }

        Assert.Equal(before + 6, suite.Es256.Vault.CallsOf("read"));
    }

    [Fact]
    public async Task WebSocket_BearerSubprotocol_IsAccepted_AndNeverEchoedBack()
    {
        var token = suite.Es256.Token();
        var before = suite.Es256.Vault.CallsOf("read");

        var observed = await AttackClient.SendAsync(suite.Es256, AttackTransport.WebSocket, new Presentation { SubProtocols = ["bearer." + token] }, TestContext.Current.CancellationToken);

        AssertToolRan(observed, AttackTransport.WebSocket);
        Assert.Equal("mcp", observed.SubProtocolHeader);
        Assert.DoesNotContain(token, observed.Body, StringComparison.Ordinal);
        Assert.Equal(before + 1, suite.Es256.Vault.CallsOf("read"));
    }

    internal static void AssertToolRan(Observation observed, AttackTransport transport)
    {
        Assert.Equal(transport == AttackTransport.WebSocket ? 101 : 200, observed.Status);
        var result = transport == AttackTransport.Rest ? observed.Json : observed.Json?["result"] as JsonObject;
        Assert.NotNull(result);
        Assert.Equal("vault read", result["content"]![0]!["text"]!.GetValue<string>());
        Assert.NotEqual(true, result["isError"]?.GetValue<bool>());
    }

    private static string Malleated(string token)
    {
        var n = new System.Numerics.BigInteger(Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"), isUnsigned: true, isBigEndian: true);
        var parts = token.Split('.');
        var signature = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[2]);
        var s = new System.Numerics.BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var flipped = (n - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var malleated = new byte[64];
        signature.AsSpan(0, 32).CopyTo(malleated);
        flipped.CopyTo(malleated.AsSpan(64 - flipped.Length));
        Assert.NotEqual(signature, malleated);
        return $"{parts[0]}.{parts[1]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(malleated)}";
    }

    private static void Offsets(JsonObject claims, AttackSuiteFixture f, long iat, long nbf, long exp)
    {
        var now = f.Es256.Now.ToUnixTimeSeconds();
        claims["iat"] = now + iat;
        claims["nbf"] = now + nbf;
        claims["exp"] = now + exp;
    }
}
