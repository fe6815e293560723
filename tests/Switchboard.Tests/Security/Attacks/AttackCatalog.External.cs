using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>
    /// Tokens claiming a configured external issuer (<c>https://idp.test</c>, keys from a loopback JWKS server) get the
    /// same strict checks as ours; plus the cross-issuer (E16) and unusable-key (B09, B12) cases only an external JWKS has.
    /// </summary>
    public static IReadOnlyList<AttackCase> ExternalIssuer { get; } =
    [
        External("JWT-B01", "external issuer: alg none", f => $"{TokenForge.Segment(TokenForge.Header("none", f.Idp.Kid).ToJsonString())}.{TokenForge.Segment(IdpClaims(f))}."),
        External("JWT-E10", "external issuer: typ JWT", f => f.IdpToken(header: h => h["typ"] = "JWT")),
        External("JWT-D01", "external issuer: expired beyond the skew", f => f.IdpToken(claims: c => Times(c, f.Es256.Now, iat: -600, exp: -61))),
        External("JWT-D07", "external issuer: lifetime over the maximum", f => f.IdpToken(claims: c => Times(c, f.Es256.Now, iat: 0, exp: (long)AttackTarget.MaxLifetime.TotalSeconds + 1))),
        External("JWT-E06", "external issuer: aud of another resource", f => f.IdpToken(claims: c => c["aud"] = "https://other-mcp.test/mcp")),
        External("JWT-E15", "external issuer: client_id missing", f => f.IdpToken(claims: c => c.Remove("client_id"))),
        External("JWT-C01", "external issuer: jku to the canary", f => f.IdpToken(header: h => h["jku"] = f.Canary.Url())),
        External("JWT-C04", "external issuer: embedded jwk of the attacker with the issuer's kid", f => f.IdpToken(header: h => { h["kid"] = f.Idp.Kid; h["jwk"] = WithKid(f.Attacker.PublicJwk(), f.Idp.Kid); }, signer: f.Attacker)),
        External("JWT-C10", "external issuer: kid missing", f => f.IdpToken(header: h => h.Remove("kid"))),
        External("JWT-C12", "external issuer: a kid its JWKS does not have", f => f.IdpToken(header: h => h["kid"] = "idp-unknown")),
        External("JWT-A13", "external issuer: duplicate alg", f => TokenForge.FromJson(Append(TokenForge.Header("ES256", f.Idp.Kid).ToJsonString(), "\"alg\":\"none\""), IdpClaims(f), f.Idp.Sign)),
        External("JWT-B05", "external issuer: RS256 header on its ES256 key's kid, signed by its RSA key", f => f.IdpToken(header: h => h["kid"] = f.Idp.Kid, signer: f.IdpRsa)),
        External("JWT-B06", "external issuer: ES256 header on its RSA key's kid, signed by its EC key", f => f.IdpToken(header: h => h["kid"] = f.IdpRsa.Kid, signer: f.Idp)),
        External("JWT-B09", "external issuer: ES256 header, key published as ES256 but on P-384", f => f.IdpToken(signer: f.IdpP384, signAs: "ES384", header: h => h["alg"] = "ES256")),
        External("JWT-B12", "external issuer: key of 1024-bit RSA in its JWKS", f => f.IdpToken(signer: f.IdpWeakRsa)),
        External("JWT-E16", "claims issuer A, signed by issuer B's key under B's kid", f => f.IdpToken(signer: f.Idp2)),
        External("JWT-E16", "claims issuer A, A's kid, signed by issuer B's key", f => f.IdpToken(header: h => h["kid"] = f.Idp.Kid, signer: f.Idp2)),
        External("JWT-E16", "claims issuer B, A's kid, signed by A's key", f => f.IdpToken(issuer: AttackSuiteFixture.Idp2Issuer)),
        // Our issuer is resolved in our ring only: the external JWKS must not even be fetched for it.
        Invalid("JWT-E16", "claims our issuer, signed by the external issuer's key under its kid", f => f.IdpToken(issuer: AttackTarget.Issuer)),
    ];

    private static AttackCase External(string id, string variant, Func<AttackSuiteFixture, string> token)
        => Invalid(id, variant, token) with { External = true };

    private static string IdpClaims(AttackSuiteFixture f)
        => TokenForge.Claims(AttackSuiteFixture.IdpIssuer, AttackTarget.Resource, f.Es256.Now, "tools:vault/*").ToJsonString();
}
