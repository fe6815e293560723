using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>
    /// §1.3 C: key-selection headers, and §1.5 KEY cases about which ring keys may validate. Where a header must be refused
    /// for itself, there are two variants: signed by the attacker (the real attack) and signed by the trusted key (so the
    /// test fails if the header were merely ignored rather than refused). The canary's URL is in every URL-bearing field.
    /// </summary>
    public static IReadOnlyList<AttackCase> KeySelection { get; } =
    [
        Invalid("JWT-C01", "jku to the canary, signed by the attacker key listed there", f => f.Es256.Token(header: h => h["jku"] = f.Canary.Url(), signer: f.Attacker)),
        Invalid("JWT-C01", "jku to the canary on a token signed by the trusted key", f => f.Es256.Token(header: h => h["jku"] = f.Canary.Url())),
        Invalid("JWT-C02", "jku = our JWKS URL plus a query", f => f.Es256.Token(header: h => h["jku"] = AttackTarget.Issuer + "/.well-known/jwks.json?x=1")),
        Invalid("JWT-C02", "jku with userinfo pointing at the canary", f => f.Es256.Token(header: h => h["jku"] = $"https://switchboard.test@127.0.0.1:{f.Canary.Port}/jwks.json")),
        Invalid("JWT-C02", "jku on a look-alike host", f => f.Es256.Token(header: h => h["jku"] = $"http://switchboard.test.127.0.0.1.nip.io:{f.Canary.Port}/jwks.json")),
        Invalid("JWT-C02", "jku = a configured external issuer's JWKS, signed by that issuer's key", f => f.Es256.Token(header: h => h["jku"] = f.Jwks.Url("/idp/jwks"), signer: f.Idp)),
        Invalid("JWT-C02", "iss = the canary URL (never discovered)", f => f.Es256.Token(claims: c => c["iss"] = f.Canary.Url("/"), signer: f.Attacker)),
        Invalid("JWT-C02", "kid = the canary's JWKS URL", f => f.Es256.Token(header: h => h["kid"] = f.Canary.Url(), signer: f.Attacker)),
        Invalid("JWT-C02", "jku, x5u and jwks_uri as payload claims pointing at the canary, attacker-signed", f => f.Es256.Token(claims: c => { c["jku"] = f.Canary.Url(); c["x5u"] = f.Canary.Url("/cert.pem"); c["jwks_uri"] = f.Canary.Url(); }, signer: f.Attacker)),
        Invalid("JWT-C03", "x5u to the canary, signed by the attacker", f => f.Es256.Token(header: h => h["x5u"] = f.Canary.Url("/cert.pem"), signer: f.Attacker)),
        Invalid("JWT-C03", "x5u to the canary on a token signed by the trusted key", f => f.Es256.Token(header: h => h["x5u"] = f.Canary.Url("/cert.pem"))),
        Invalid("JWT-C03", "x5c self-signed certificate of the attacker key", f => f.Es256.Token(header: h => h["x5c"] = new JsonArray(CertificateOf(f.Attacker.Ecdsa!)), signer: f.Attacker)),
        Invalid("JWT-C03", "x5c certificate of the trusted key, signed by it", f => f.Es256.Token(header: h => h["x5c"] = new JsonArray(CertificateOf(f.Active.Ecdsa!)))),
        Invalid("JWT-C04", "embedded jwk of the attacker key, signed by it", f => f.Es256.Token(header: h => h["jwk"] = f.Attacker.PublicJwk(), signer: f.Attacker)),
        Invalid("JWT-C04", "embedded attacker jwk carrying the trusted kid", f => f.Es256.Token(header: h => { h["kid"] = f.Active.Kid; h["jwk"] = WithKid(f.Attacker.PublicJwk(), f.Active.Kid); }, signer: f.Attacker)),
        Invalid("JWT-C04", "embedded trusted jwk with an x5u to the canary, signed by the trusted key", f => f.Es256.Token(header: h => h["jwk"] = WithMember(f.Active.PublicJwk(), "x5u", f.Canary.Url()))),
        .. new[] { "../../../../../../dev/null", "/dev/null", "/proc/self/environ", "..\\..\\windows\\win.ini", "....//....//etc/passwd" }.Select(kid =>
            Invalid("JWT-C05", $"kid {kid}, HS256 with an empty key", f => HmacWithKid(f, kid, []))),
        Invalid("JWT-C05", "kid ../../../../dev/null on an ES256 token signed by the trusted key", f => f.Es256.Token(header: h => h["kid"] = "../../../../dev/null")),
        Invalid("JWT-C06", "kid x' UNION SELECT '1';-- with HS256 key \"1\"", f => HmacWithKid(f, "x' UNION SELECT '1';--", "1"u8.ToArray())),
        Invalid("JWT-C06", "kid with SQL on an ES256 token signed by the trusted key", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid + "' OR '1'='1")),
        .. new[] { "|sleep 10", "$(sleep 10)", "`sleep 10`" }.Select(kid =>
            Invalid("JWT-C07", $"kid {kid}", f => f.Es256.Token(header: h => h["kid"] = kid))),
        Invalid("JWT-C08", "kid k1\\r\\nFLUSHALL\\r\\n", f => f.Es256.Token(header: h => h["kid"] = "k1\r\nFLUSHALL\r\n")),
        Invalid("JWT-C08", "kid *", f => f.Es256.Token(header: h => h["kid"] = "*")),
        Invalid("JWT-C08", "kid <trusted>:other-tenant", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid + ":other-tenant")),
        Invalid("JWT-C09", "kid of 65 allowed characters", f => f.Es256.Token(header: h => h["kid"] = new string('k', 65))),
        Invalid("JWT-C09", "trusted kid with a NUL appended", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid + "\u0000")),
        Invalid("JWT-C09", "trusted kid with a newline appended", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid + "\n")),
        Invalid("JWT-C09", "homoglyph of the trusted kid", f => f.Es256.Token(header: h => h["kid"] = Homoglyph(f.Active.Kid))),
        Invalid("JWT-C09", "kid as a number", f => f.Es256.Token(header: h => h["kid"] = 1)),
        Invalid("JWT-C09", "kid as an object", f => f.Es256.Token(header: h => h["kid"] = new JsonObject { ["kid"] = f.Active.Kid })),
        Invalid("JWT-C09", "kid as an array", f => f.Es256.Token(header: h => h["kid"] = new JsonArray(f.Active.Kid))),
        Invalid("JWT-C10", "kid missing, signed by the trusted key", f => f.Es256.Token(header: h => h.Remove("kid"))),
        Invalid("JWT-C10", "kid empty", f => f.Es256.Token(header: h => h["kid"] = string.Empty)),
        Invalid("JWT-C10", "kid null", f => f.Es256.Token(header: h => h["kid"] = null)),
        Invalid("JWT-C11", "kid of the retiring key, signed by the active key", f => f.Es256.Token(header: h => h["kid"] = f.Retiring.Kid)),
        Invalid("JWT-C11", "kid of the active key, signed by the retiring key", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid, signer: f.Retiring)),
        Invalid("JWT-C11", "kid of the active key, signed by the pending key", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid, signer: f.Pending)),
        Invalid("JWT-C12", "a kid no key has", f => f.Es256.Token(header: h => h["kid"] = "unknown-" + Guid.NewGuid().ToString("n"))),
        Invalid("KEY-04", "signed by the published-but-pending key (a premature signer)", f => f.Es256.Token(signer: f.Pending)),
        Invalid("KEY-05", "signed by the retired RS256 ring key, within the token's own lifetime", f => f.Rs256.Token(signer: f.Retired)) with { OnRsaServer = true },
        Invalid("KEY-06", "signed by the revoked ring key, within the token's own lifetime", f => f.Es256.Token(signer: f.Revoked)),
        Invalid("KEY-06", "revoked key's kid, signed by the active key", f => f.Es256.Token(header: h => h["kid"] = f.Revoked.Kid)),
        Invalid("KEY-04", "signed by a key of another server (RSA ring) under its own kid", f => f.Es256.Token(signer: f.Rs256.ActiveKey)),
    ];

    private static string HmacWithKid(AttackSuiteFixture f, string kid, byte[] secret)
        => TokenForge.FromJson(TokenForge.Header("HS256", kid).ToJsonString(), ClaimsJson(f), TokenForge.Hmac("HS256", secret));

    private static string CertificateOf(ECDsa key)
    {
        using var certificate = new CertificateRequest("CN=attacker", key, HashAlgorithmName.SHA256).CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1));
        return Convert.ToBase64String(certificate.RawData);
    }

    private static JsonObject WithKid(JsonObject jwk, string kid)
    {
        jwk["kid"] = kid;
        return jwk;
    }

    private static JsonObject WithMember(JsonObject jwk, string name, string value)
    {
        jwk[name] = value;
        return jwk;
    }

    private static readonly System.Buffers.SearchValues<char> s_homoglyphable = System.Buffers.SearchValues.Create("aceopxyABCEHKMOPTX");

    /// <summary>The kid with one Latin letter swapped for its Cyrillic look-alike (or a zero-width space added if none).</summary>
    private static string Homoglyph(string kid)
    {
        const string latin = "aceopxyABCEHKMOPTX";
        const string cyrillic = "асеорхуАВСЕНКМОРТХ";
        var at = kid.AsSpan().IndexOfAny(s_homoglyphable);
        if (at < 0)
        {
            return kid + "\u200B";
        }

        var builder = new StringBuilder(kid);
        builder[at] = cyrillic[latin.IndexOf(kid[at], StringComparison.Ordinal)];
        return builder.ToString();
    }
}
