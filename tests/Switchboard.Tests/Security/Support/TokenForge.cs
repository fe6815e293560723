using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// A key that can sign forged tokens: the server's own ring key (taken from the running server), an external issuer's
/// key (published by <see cref="JwksTestServer"/>), or an attacker's key. Signing is plain
/// System.Security.Cryptography over the exact bytes of the first two segments, so tests control every byte.
/// </summary>
public sealed class TestSigner
{
    private TestSigner(string kid, string algorithm, AsymmetricAlgorithm key)
    {
        Kid = kid;
        Algorithm = algorithm;
        Key = key;
    }

    public string Kid { get; }

    /// <summary>The algorithm this key is pinned to (what its JWK says).</summary>
    public string Algorithm { get; }

    public AsymmetricAlgorithm Key { get; }

    public ECDsa? Ecdsa => Key as ECDsa;

    public RSA? Rsa => Key as RSA;

    public static TestSigner Create(string kid, string algorithm) => algorithm switch
    {
        "ES256" => new TestSigner(kid, algorithm, ECDsa.Create(ECCurve.NamedCurves.nistP256)),
        "ES384" => new TestSigner(kid, algorithm, ECDsa.Create(ECCurve.NamedCurves.nistP384)),
        "RS256" => new TestSigner(kid, algorithm, RSA.Create(2048)),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static TestSigner FromRsa(string kid, RSA rsa) => new(kid, "RS256", rsa);

    public static TestSigner FromEcdsa(string kid, ECDsa ecdsa) => new(kid, "ES256", ecdsa);

    /// <summary>Signs with the key's own algorithm.</summary>
    public byte[] Sign(byte[] input) => SignAs(Algorithm, input);

    /// <summary>Signs with the named algorithm, even one the key is not pinned to (RS512, PS256 with an RS256 key...).</summary>
    public byte[] SignAs(string algorithm, byte[] input) => algorithm switch
    {
        "ES256" => Ecdsa!.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        "ES384" => Ecdsa!.SignData(input, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        "RS256" => Rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        "RS512" => Rsa!.SignData(input, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1),
        "PS256" => Rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The public JWK, pinned to the key's algorithm (what a JWKS publishes).</summary>
    public JsonObject PublicJwk()
    {
        if (Ecdsa is { } ec)
        {
            var p = ec.ExportParameters(false);
            return new JsonObject
            {
                ["kty"] = "EC", ["kid"] = Kid, ["use"] = "sig", ["alg"] = Algorithm, ["crv"] = Algorithm == "ES384" ? "P-384" : "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
            };
        }

        var r = Rsa!.ExportParameters(false);
        return new JsonObject
        {
            ["kty"] = "RSA", ["kid"] = Kid, ["use"] = "sig", ["alg"] = Algorithm,
            ["n"] = Base64UrlEncoder.Encode(r.Modulus), ["e"] = Base64UrlEncoder.Encode(r.Exponent),
        };
    }
}

/// <summary>Builds compact JWS strings byte by byte, including ones no JWT library would produce.</summary>
public static class TokenForge
{
    public static string Segment(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    public static string Segment(byte[] bytes) => Base64UrlEncoder.Encode(bytes);

    /// <summary><c>header.payload.signature</c> with the signature computed over the two segments as given.</summary>
    public static string Compact(string headerSegment, string payloadSegment, Func<byte[], byte[]> sign)
    {
        var input = headerSegment + "." + payloadSegment;
        return input + "." + Base64UrlEncoder.Encode(sign(Encoding.ASCII.GetBytes(input)));
    }

    /// <summary>Hand-written header and payload JSON (duplicate names, odd numbers ...), signed as given.</summary>
    public static string FromJson(string headerJson, string payloadJson, Func<byte[], byte[]> sign)
        => Compact(Segment(headerJson), Segment(payloadJson), sign);

    public static Func<byte[], byte[]> Hmac(string algorithm, byte[] key) => input => algorithm switch
    {
        "HS256" => HMACSHA256.HashData(key, input),
        "HS384" => HMACSHA384.HashData(key, input),
        "HS512" => HMACSHA512.HashData(key, input),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static Func<byte[], byte[]> NoSignature => _ => [];

    /// <summary>The RFC 9068 claims of a token valid right now for <paramref name="audience"/>.</summary>
    public static JsonObject Claims(string issuer, string audience, DateTimeOffset now, string scope, TimeSpan? lifetime = null) => new()
    {
        ["iss"] = issuer,
        ["aud"] = audience,
        ["sub"] = "alice",
        ["client_id"] = "attack-suite",
        ["jti"] = Guid.NewGuid().ToString("n"),
        ["scope"] = scope,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["nbf"] = now.ToUnixTimeSeconds(),
        ["exp"] = (now + (lifetime ?? TimeSpan.FromMinutes(10))).ToUnixTimeSeconds(),
    };

    public static JsonObject Header(string alg, string? kid, string typ = "at+jwt")
    {
        var header = new JsonObject { ["alg"] = alg, ["typ"] = typ };
        if (kid is not null)
        {
            header["kid"] = kid;
        }

        return header;
    }
}
