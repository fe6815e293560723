using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>
    /// §1.3 D: time claims, at the edges of the 60 s skew the targets run with (the server's clock is the fixture's fake
    /// clock, so "now" is exact). The accepted side of each edge is in <see cref="AcceptedTokenTests"/>.
    /// </summary>
    public static IReadOnlyList<AttackCase> TimeClaims { get; } =
    [
        Invalid("JWT-D01", "exp = now - (skew + 1 s)", f => f.Es256.Token(claims: c => Times(c, f.Es256.Now, iat: -600, exp: -61))),
        Invalid("JWT-D01", "exp = now - skew exactly (the first refused second)", f => f.Es256.Token(claims: c => Times(c, f.Es256.Now, iat: -600, exp: -60))),
        Invalid("JWT-D03", "exp missing", f => f.Es256.Token(claims: c => c.Remove("exp"))),
        Invalid("JWT-D03", "exp null", f => f.Es256.Token(claims: c => c["exp"] = null)),
        Invalid("JWT-D04", "nbf = now + skew + 1 s", f => f.Es256.Token(claims: c => c["nbf"] = f.Es256.Now.ToUnixTimeSeconds() + 61)),
        Invalid("JWT-D04", "nbf as a string", f => f.Es256.Token(claims: c => c["nbf"] = c["nbf"]!.ToString())),
        Invalid("JWT-D05", "iat = now + skew + 1 s", f => f.Es256.Token(claims: c => Times(c, f.Es256.Now, iat: 61, exp: 661, nbf: 0))),
        Invalid("JWT-D06", "iat missing", f => f.Es256.Token(claims: c => c.Remove("iat"))),
        Invalid("JWT-D07", "exp - iat = max lifetime + 1 s", f => f.Es256.Token(claims: c => Times(c, f.Es256.Now, iat: 0, exp: (long)AttackTarget.MaxLifetime.TotalSeconds + 1))),
        Invalid("JWT-D07", "iat long ago, exp soon: lifetime far over the maximum", f => f.Es256.Token(claims: c => Times(c, f.Es256.Now, iat: -86_400 * 30, exp: 300))),
        Invalid("JWT-D08", "exp = 253402300800 (year 10000)", f => f.Es256.Token(claims: c => c["exp"] = 253402300800L)),
        Invalid("JWT-D08", "exp = 2^53", f => f.Es256.Token(claims: c => c["exp"] = 9007199254740992L)),
        Invalid("JWT-D08", "exp = 2^63", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c.Remove("exp"))[..^1] + ",\"exp\":9223372036854775808}")),
    ];

    /// <summary>§1.3 E: issuer, audience, type and profile confusion. Signed by the trusted key unless said otherwise.</summary>
    public static IReadOnlyList<AttackCase> IssuerAudienceType { get; } =
    [
        Invalid("JWT-E01", "iss of another authorization server", f => f.Es256.Token(claims: c => c["iss"] = "https://other-as.test")),
        Invalid("JWT-E01", "iss of a trusted external issuer, signed by our ring key", f => f.Es256.Token(claims: c => c["iss"] = AttackSuiteFixture.IdpIssuer)) with { External = true },
        .. new[] { "https://switchboard.test/", "HTTPS://switchboard.test", "https://SWITCHBOARD.test", "https://switchboard.test:443", "https://switchboard%2Etest", "https://switchboard.test " }.Select(iss =>
            Invalid("JWT-E02", $"iss \"{iss}\"", f => f.Es256.Token(claims: c => c["iss"] = iss))),
        .. new[] { "https://switchboard", "https://switchboard.test.evil", "https://switchboard.tes", "switchboard.test", "https://switchboard.test/mcp" }.Select(iss =>
            Invalid("JWT-E03", $"iss \"{iss}\"", f => f.Es256.Token(claims: c => c["iss"] = iss))),
        Invalid("JWT-E04", "iss as an array", f => f.Es256.Token(claims: c => c["iss"] = new JsonArray(AttackTarget.Issuer))),
        Invalid("JWT-E04", "iss as a number", f => f.Es256.Token(claims: c => c["iss"] = 1)),
        Invalid("JWT-E05", "aud missing", f => f.Es256.Token(claims: c => c.Remove("aud"))),
        Invalid("JWT-E05", "aud an empty array", f => f.Es256.Token(claims: c => c["aud"] = new JsonArray())),
        Invalid("JWT-E06", "aud of another MCP server (token passthrough)", f => f.Es256.Token(claims: c => c["aud"] = "https://other-mcp.test/mcp")),
        Invalid("JWT-E06", "aud = the authorization server itself", f => f.Es256.Token(claims: c => c["aud"] = AttackTarget.Issuer)),
        Invalid("JWT-E06", "aud = a downstream API", f => f.Es256.Token(claims: c => c["aud"] = "https://api.downstream.test")),
        Invalid("JWT-E08", "aud with a trailing slash", f => f.Es256.Token(claims: c => c["aud"] = AttackTarget.Resource + "/")),
        Invalid("JWT-E08", "aud with an upper-case host", f => f.Es256.Token(claims: c => c["aud"] = "https://SWITCHBOARD.test/mcp")),
        Invalid("JWT-E08", "aud with an explicit :443", f => f.Es256.Token(claims: c => c["aud"] = "https://switchboard.test:443/mcp")),
        Invalid("JWT-E08", "aud with an upper-case path", f => f.Es256.Token(claims: c => c["aud"] = "https://switchboard.test/MCP")),
        .. new[] { "JWT", "jwt", "application/jwt", "at+jwt ", "at+jwt;v=1", "at-jwt" }.Select(typ =>
            Invalid("JWT-E10", $"typ \"{typ}\"", f => f.Es256.Token(header: h => h["typ"] = typ))),
        Invalid("JWT-E10", "typ missing", f => f.Es256.Token(header: h => h.Remove("typ"))),
        Invalid("JWT-E10", "typ as a number", f => f.Es256.Token(header: h => h["typ"] = 1)),
        Invalid("JWT-E12", "OIDC ID token (typ JWT, aud = client id, nonce, at_hash)", f => f.Es256.Token(header: h => h["typ"] = "JWT", claims: IdToken)),
        Invalid("JWT-E12", "ID-token claims under typ at+jwt (aud = client id)", f => f.Es256.Token(claims: IdToken)),
        Invalid("JWT-E13", "DPoP proof (typ dpop+jwt, htm, htu)", f => f.Es256.Token(header: h => h["typ"] = "dpop+jwt", claims: c => { c["htm"] = "POST"; c["htu"] = AttackTarget.Resource; })),
        Invalid("JWT-E13", "client assertion (aud = our token endpoint)", f => f.Es256.Token(header: h => h["typ"] = "JWT", claims: c => c["aud"] = AttackTarget.Issuer + "/oauth/token")),
        Invalid("JWT-E13", "logout token (typ logout+jwt)", f => f.Es256.Token(header: h => h["typ"] = "logout+jwt", claims: c => c["events"] = new JsonObject { ["http://schemas.openid.net/event/backchannel-logout"] = new JsonObject() })),
        Invalid("JWT-E13", "JWT-SVID (typ JWT, spiffe sub)", f => f.Es256.Token(header: h => h["typ"] = "JWT", claims: c => c["sub"] = "spiffe://switchboard.test/workload")),
        Invalid("JWT-E15", "client_id missing", f => f.Es256.Token(claims: c => c.Remove("client_id"))),
        Invalid("JWT-E15", "jti missing", f => f.Es256.Token(claims: c => c.Remove("jti"))),
        Invalid("JWT-E15", "sub missing", f => f.Es256.Token(claims: c => c.Remove("sub"))),
        Invalid("JWT-E15", "sub empty", f => f.Es256.Token(claims: c => c["sub"] = string.Empty)),
        Invalid("JWT-E15", "sub whitespace", f => f.Es256.Token(claims: c => c["sub"] = "   ")),
        Invalid("JWT-E15", "sub as a number", f => f.Es256.Token(claims: c => c["sub"] = 42)),
        Invalid("JWT-E17", "cty JWT (nested token)", f => f.Es256.Token(header: h => h["cty"] = "JWT")),
    ];

    /// <summary>Sets iat/exp (and nbf, or nbf = iat) as offsets in seconds from <paramref name="now"/>.</summary>
    private static void Times(JsonObject claims, DateTimeOffset now, long iat, long exp, long? nbf = null)
    {
        var seconds = now.ToUnixTimeSeconds();
        claims["iat"] = seconds + iat;
        claims["nbf"] = seconds + (nbf ?? iat);
        claims["exp"] = seconds + exp;
    }

    private static void IdToken(JsonObject claims)
    {
        claims["aud"] = "attack-suite";
        claims["nonce"] = "n-0S6_WzA2Mj";
        claims["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ";
    }
}
