using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>The order of the P-256 group (RFC 5639 / SEC 2), for psychic-signature cases.</summary>
    private static readonly byte[] s_p256Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    /// <summary>
    /// §1.3 B: algorithm attacks. JWT-B03 HMACs the token with the server's own public key in every byte form an HMAC
    /// verifier might be handed (RS→HS / ES→HS confusion), always naming the real <c>kid</c>.
    /// </summary>
    public static IReadOnlyList<AttackCase> Algorithms { get; } =
    [
        .. new[] { "none", "None", "NONE", "nOnE" }.SelectMany(alg => new[]
        {
            Invalid("JWT-B01", $"alg {alg}, empty signature", f => Unsigned(f, alg, string.Empty)),
            Invalid("JWT-B01", $"alg {alg}, garbage signature", f => Unsigned(f, alg, "Z2FyYmFnZQ")),
        }),
        Invalid("JWT-B02", "alg missing", f => Signed(f, $"{{\"typ\":\"at+jwt\",\"kid\":\"{f.Active.Kid}\"}}", ClaimsJson(f))),
        Invalid("JWT-B02", "alg empty", f => f.Es256.Token(header: h => h["alg"] = string.Empty)),
        Invalid("JWT-B02", "alg null", f => f.Es256.Token(header: h => h["alg"] = null)),
        Invalid("JWT-B02", "alg 123", f => f.Es256.Token(header: h => h["alg"] = 123)),
        Invalid("JWT-B02", "alg [\"ES256\"]", f => f.Es256.Token(header: h => h["alg"] = new System.Text.Json.Nodes.JsonArray("ES256"))),

        .. EcPublicKeyForms().Select(form => Invalid("JWT-B03", $"HS256 keyed with the ES256 public key as {form.Name}", f => Hmac(f.Es256, f.Active, "HS256", form.Bytes(f)))),
        .. RsaPublicKeyForms().Select(form => Invalid("JWT-B03", $"HS256 keyed with the RS256 public key as {form.Name}", f => Hmac(f.Rs256, f.Rs256.ActiveKey, "HS256", form.Bytes(f))) with { OnRsaServer = true }),
        Invalid("JWT-B03", "HS384 keyed with the ES256 SPKI PEM", f => Hmac(f.Es256, f.Active, "HS384", Encoding.ASCII.GetBytes(f.Active.Ecdsa!.ExportSubjectPublicKeyInfoPem() + "\n"))),
        Invalid("JWT-B03", "HS512 keyed with the RS256 SPKI PEM", f => Hmac(f.Rs256, f.Rs256.ActiveKey, "HS512", Encoding.ASCII.GetBytes(f.Rs256.ActiveKey.Rsa!.ExportSubjectPublicKeyInfoPem() + "\n"))) with { OnRsaServer = true },

        // jwt_tool's jwt-common.txt is not shipped here; these are its best-known entries plus the empty secret.
        .. new[] { string.Empty, "secret", "password", "your-256-bit-secret", "changeme", "jwt" }.Select(secret =>
            Invalid("JWT-B04", $"HS256 with the secret \"{secret}\"", f => Hmac(f.Es256, f.Active, "HS256", Encoding.UTF8.GetBytes(secret)))),

        Invalid("JWT-B05", "RS512 correctly signed by the RS256-pinned ring key", f => f.Rs256.Token(signAs: "RS512")) with { OnRsaServer = true },
        Invalid("JWT-B06", "ES256 header naming the RSA ring key, signed by an EC key", f => f.Rs256.Token(header: h => h["kid"] = f.Rs256.ActiveKey.Kid, signer: f.Attacker)) with { OnRsaServer = true },
        Invalid("JWT-B06", "RS256 header naming the EC ring key, signed by an RSA key", f => f.Es256.Token(header: h => h["kid"] = f.Active.Kid, signer: f.AttackerRsa)),
        Invalid("JWT-B07", "ES256 signature DER-encoded by the ring key", f => Es256Signature(f, input => f.Active.Ecdsa!.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))),
        Invalid("JWT-B07", "ES256 signature of 63 bytes", f => Es256Signature(f, input => f.Active.Sign(input)[..63])),
        Invalid("JWT-B07", "ES256 signature of 65 bytes", f => Es256Signature(f, input => [.. f.Active.Sign(input), 0])),
        Invalid("JWT-B08", "psychic signature r = s = 0", f => Es256Signature(f, _ => new byte[64])),
        Invalid("JWT-B08", "r = s = n", f => Es256Signature(f, _ => [.. s_p256Order, .. s_p256Order])),
        Invalid("JWT-B08", "real r with s = n", f => Es256Signature(f, input => [.. f.Active.Sign(input)[..32], .. s_p256Order])),
        Invalid("JWT-B08", "r = 0 with the real s", f => Es256Signature(f, input => [.. new byte[32], .. f.Active.Sign(input)[32..]])),
        Invalid("JWT-B09", "ES384 header signed (SHA-384) by the P-256 ring key", f => f.Es256.Token(signAs: "ES384")),
        Invalid("JWT-B10", "PS256 correctly signed by the RS256 ring key", f => f.Rs256.Token(signAs: "PS256")) with { OnRsaServer = true },
        Invalid("JWT-B10", "EdDSA header", f => Es256Signature(f, input => new byte[64], alg: "EdDSA")),
        Invalid("JWT-B10", "ES512 header", f => Es256Signature(f, input => f.Active.Sign(input), alg: "ES512")),
        Invalid("JWT-B11", "alg es256 (lower case), real signature", f => Es256Signature(f, input => f.Active.Sign(input), alg: "es256")),
        Invalid("JWT-B11", "alg Es256, real signature", f => Es256Signature(f, input => f.Active.Sign(input), alg: "Es256")),
        Invalid("JWT-B11", "alg rs256 on the RSA server, real signature", f => f.Rs256.Token(header: h => h["alg"] = "rs256")) with { OnRsaServer = true },
        Invalid("JWT-B11", "alg \"ES256 \" (trailing space), real signature", f => Es256Signature(f, input => f.Active.Sign(input), alg: "ES256 ")),
    ];

    private static string Unsigned(AttackSuiteFixture f, string alg, string signature)
    {
        var header = TokenForge.Header(alg, f.Active.Kid).ToJsonString();
        return $"{TokenForge.Segment(header)}.{TokenForge.Segment(ClaimsJson(f))}.{signature}";
    }

    private static string Hmac(AttackTarget target, TestSigner key, string alg, byte[] secret)
        => TokenForge.FromJson(TokenForge.Header(alg, key.Kid).ToJsonString(), target.Claims().ToJsonString(), TokenForge.Hmac(alg, secret));

    /// <summary>An ES256-shaped token (real kid, valid claims) with a signature of the test's making.</summary>
    private static string Es256Signature(AttackSuiteFixture f, Func<byte[], byte[]> sign, string alg = "ES256")
        => TokenForge.FromJson(TokenForge.Header(alg, f.Active.Kid).ToJsonString(), ClaimsJson(f), sign);

    private sealed record KeyForm(string Name, Func<AttackSuiteFixture, byte[]> Bytes);

    private static IEnumerable<KeyForm> EcPublicKeyForms()
    {
        static ECParameters P(AttackSuiteFixture f) => f.Active.Ecdsa!.ExportParameters(false);
        static string Pem(AttackSuiteFixture f) => f.Active.Ecdsa!.ExportSubjectPublicKeyInfoPem();
        static byte[] Der(AttackSuiteFixture f) => f.Active.Ecdsa!.ExportSubjectPublicKeyInfo();
        static byte[] XY(AttackSuiteFixture f) => [.. P(f).Q.X!, .. P(f).Q.Y!];
        yield return new("SPKI PEM with \\n", f => Encoding.ASCII.GetBytes(Pem(f) + "\n"));
        yield return new("SPKI PEM without a trailing newline", f => Encoding.ASCII.GetBytes(Pem(f)));
        yield return new("SPKI PEM with \\r\\n", f => Encoding.ASCII.GetBytes(Pem(f).Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n"));
        yield return new("SPKI PEM after leading whitespace", f => Encoding.ASCII.GetBytes("  \n\t" + Pem(f) + "\n"));
        yield return new("SPKI PEM after a UTF-8 BOM", f => [0xEF, 0xBB, 0xBF, .. Encoding.ASCII.GetBytes(Pem(f) + "\n")]);
        yield return new("SPKI PEM after a zero-width space", f => Encoding.UTF8.GetBytes("\u200B" + Pem(f) + "\n"));
        yield return new("SPKI PEM after a #comment line", f => Encoding.ASCII.GetBytes("#comment\n" + Pem(f) + "\n"));
        yield return new("SPKI DER", Der);
        yield return new("base64 of the SPKI DER", f => Encoding.ASCII.GetBytes(Convert.ToBase64String(Der(f))));
        yield return new("base64url of the SPKI DER", f => Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(Der(f))));
        yield return new("the JWK JSON exactly as published", f => Encoding.UTF8.GetBytes(f.Es256.Ring.PublishedKeySet()["keys"]!.AsArray().Single(k => (string?)k!["kid"] == f.Active.Kid)!.ToJsonString()));
        yield return new("the RFC 7638 thumbprint-form JWK JSON", f => Encoding.UTF8.GetBytes($"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64UrlEncoder.Encode(P(f).Q.X)}\",\"y\":\"{Base64UrlEncoder.Encode(P(f).Q.Y)}\"}}"));
        yield return new("raw x||y bytes", XY);
        yield return new("uncompressed point 04||x||y", f => [0x04, .. XY(f)]);
        yield return new("raw x bytes", f => P(f).Q.X!);
        yield return new("base64 of x||y", f => Encoding.ASCII.GetBytes(Convert.ToBase64String(XY(f))));
        yield return new("base64url of x||y", f => Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(XY(f))));
        yield return new("base64url of x (the JWK member)", f => Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(P(f).Q.X)));
        yield return new("OpenSSH ecdsa-sha2-nistp256 line", f => Encoding.ASCII.GetBytes("ecdsa-sha2-nistp256 " + Convert.ToBase64String(Ssh(Encoding.ASCII.GetBytes("ecdsa-sha2-nistp256"), Encoding.ASCII.GetBytes("nistp256"), [0x04, .. XY(f)])) + " switchboard\n"));
        yield return new("a certificate PEM over the key", f => Encoding.ASCII.GetBytes(new CertificateRequest("CN=switchboard.test", f.Active.Ecdsa!, HashAlgorithmName.SHA256).CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1)).ExportCertificatePem() + "\n"));
    }

    private static IEnumerable<KeyForm> RsaPublicKeyForms()
    {
        static RSA K(AttackSuiteFixture f) => f.Rs256.ActiveKey.Rsa!;
        static RSAParameters P(AttackSuiteFixture f) => K(f).ExportParameters(false);
        yield return new("SPKI PEM with \\n", f => Encoding.ASCII.GetBytes(K(f).ExportSubjectPublicKeyInfoPem() + "\n"));
        yield return new("SPKI PEM without a trailing newline", f => Encoding.ASCII.GetBytes(K(f).ExportSubjectPublicKeyInfoPem()));
        yield return new("SPKI PEM after a #comment line", f => Encoding.ASCII.GetBytes("#comment\n" + K(f).ExportSubjectPublicKeyInfoPem() + "\n"));
        yield return new("PKCS#1 PEM (BEGIN RSA PUBLIC KEY)", f => Encoding.ASCII.GetBytes(K(f).ExportRSAPublicKeyPem() + "\n"));
        yield return new("SPKI DER", f => K(f).ExportSubjectPublicKeyInfo());
        yield return new("PKCS#1 DER", f => K(f).ExportRSAPublicKey());
        yield return new("the JWK JSON exactly as published", f => Encoding.UTF8.GetBytes(f.Rs256.Ring.PublishedKeySet()["keys"]!.AsArray().Single(k => (string?)k!["kid"] == f.Rs256.ActiveKey.Kid)!.ToJsonString()));
        yield return new("raw modulus n", f => P(f).Modulus!);
        yield return new("base64 of n", f => Encoding.ASCII.GetBytes(Convert.ToBase64String(P(f).Modulus!)));
        yield return new("base64url of n (the JWK member)", f => Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(P(f).Modulus)));
        yield return new("raw exponent e", f => P(f).Exponent!);
        yield return new("OpenSSH ssh-rsa line", f => Encoding.ASCII.GetBytes("ssh-rsa " + Convert.ToBase64String(Ssh(Encoding.ASCII.GetBytes("ssh-rsa"), Mpint(P(f).Exponent!), Mpint(P(f).Modulus!))) + " switchboard\n"));
        yield return new("a certificate PEM over the key", f => Encoding.ASCII.GetBytes(new CertificateRequest("CN=switchboard.test", K(f), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1)).ExportCertificatePem() + "\n"));
    }

    /// <summary>The SSH wire format: each field as a 32-bit big-endian length and its bytes.</summary>
    private static byte[] Ssh(params byte[][] fields)
    {
        using var buffer = new MemoryStream();
        foreach (var field in fields)
        {
            buffer.Write([(byte)(field.Length >> 24), (byte)(field.Length >> 16), (byte)(field.Length >> 8), (byte)field.Length]);
            buffer.Write(field);
        }

        return buffer.ToArray();
    }

    /// <summary>An SSH mpint: big-endian, with a leading zero when the top bit is set.</summary>
    private static byte[] Mpint(byte[] value) => (value[0] & 0x80) != 0 ? [0, .. value] : value;
}
