using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>Where a signing key is in its life at a given moment.</summary>
public enum SigningKeyState
{
    /// <summary>Published in the JWKS, not yet signing (so verifiers learn it before they meet it).</summary>
    Pending,

    /// <summary>Signs new tokens; published.</summary>
    Active,

    /// <summary>No longer signs; published and accepted until the last token it signed has expired.</summary>
    Retiring,

    /// <summary>Gone from the JWKS; its tokens are refused.</summary>
    Retired,

    /// <summary>Withdrawn at once (compromise); its tokens are refused.</summary>
    Revoked,
}

/// <summary>
/// One signing key as stored: the schedule that decides its state, its public JWK and its private key encrypted at
/// rest. The state is computed from the schedule and the clock, so every replica agrees without coordination.
/// </summary>
public sealed record SigningKeyRecord(
    string Kid,
    string Algorithm,
    DateTimeOffset CreatedAt,
    DateTimeOffset ActivateAt,
    DateTimeOffset? RetireAt,
    DateTimeOffset? ExpireAt,
    DateTimeOffset? RevokedAt,
    string PublicJwk,
    byte[] EncryptedPrivateKey)
{
    public SigningKeyState StateAt(DateTimeOffset now)
    {
        if (RevokedAt is not null)
        {
            return SigningKeyState.Revoked;
        }

        if (now < ActivateAt)
        {
            return SigningKeyState.Pending;
        }

        if (RetireAt is null || now < RetireAt)
        {
            return SigningKeyState.Active;
        }

        return ExpireAt is null || now < ExpireAt ? SigningKeyState.Retiring : SigningKeyState.Retired;
    }

    /// <summary>True while the key appears in the JWKS.</summary>
    public bool IsPublishedAt(DateTimeOffset now) => StateAt(now) is SigningKeyState.Pending or SigningKeyState.Active or SigningKeyState.Retiring;

    /// <summary>True while tokens signed by this key are accepted. A pending key never signed anything, so none are.</summary>
    public bool ValidatesAt(DateTimeOffset now) => StateAt(now) is SigningKeyState.Active or SigningKeyState.Retiring;
}

/// <summary>Creates key material and converts between stored records and IdentityModel keys.</summary>
internal static class SigningKeyMaterial
{
    public const string ES256 = "ES256";
    public const string RS256 = "RS256";

    /// <summary>Creates a new key pair; returns the public JWK (JSON) and the private key (PKCS#8).</summary>
    public static (string Kid, string PublicJwk, byte[] Pkcs8) Create(string algorithm)
    {
        var kid = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        switch (algorithm)
        {
            case ES256:
            {
                using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var parameters = ecdsa.ExportParameters(includePrivateParameters: false);
                var jwk = new JsonObject
                {
                    ["kty"] = "EC",
                    ["kid"] = kid,
                    ["use"] = "sig",
                    ["alg"] = ES256,
                    ["crv"] = "P-256",
                    ["x"] = Base64UrlEncoder.Encode(parameters.Q.X),
                    ["y"] = Base64UrlEncoder.Encode(parameters.Q.Y),
                };
                return (kid, jwk.ToJsonString(), ecdsa.ExportPkcs8PrivateKey());
            }

            case RS256:
            {
                using var rsa = RSA.Create(2048);
                var parameters = rsa.ExportParameters(includePrivateParameters: false);
                var jwk = new JsonObject
                {
                    ["kty"] = "RSA",
                    ["kid"] = kid,
                    ["use"] = "sig",
                    ["alg"] = RS256,
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                    ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                };
                return (kid, jwk.ToJsonString(), rsa.ExportPkcs8PrivateKey());
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Supported algorithms are ES256 and RS256.");
        }
    }

    /// <summary>The signing key (with its private part) for a record.</summary>
    public static AsymmetricSecurityKey PrivateKey(SigningKeyRecord record, byte[] pkcs8)
    {
        AsymmetricSecurityKey key = record.Algorithm switch
        {
            ES256 => new ECDsaSecurityKey(ImportEcdsa(pkcs8)),
            RS256 => new RsaSecurityKey(ImportRsa(pkcs8)),
            _ => throw new InvalidOperationException($"Key {record.Kid} has unsupported algorithm {record.Algorithm}."),
        };
        key.KeyId = record.Kid;
        return key;
    }

    /// <summary>The public key of a JWK, pinned to the algorithm the JWK names; null when the JWK is unusable.</summary>
    public static AsymmetricSecurityKey? PublicKey(JsonObject jwk, out string algorithm)
    {
        // Wrong member types (a number for alg, say) make the key unusable rather than throwing (KEY-08).
        algorithm = ExternalIssuerKeys.StringMember(jwk, "alg") ?? string.Empty;
        var kid = ExternalIssuerKeys.StringMember(jwk, "kid");
        var kty = ExternalIssuerKeys.StringMember(jwk, "kty");
        try
        {
            AsymmetricSecurityKey? key = (kty, algorithm) switch
            {
                ("EC", ES256) when jwk["crv"]?.GetValue<string>() == "P-256" => new ECDsaSecurityKey(ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint
                    {
                        X = Base64UrlEncoder.DecodeBytes(jwk["x"]!.GetValue<string>()),
                        Y = Base64UrlEncoder.DecodeBytes(jwk["y"]!.GetValue<string>()),
                    },
                })),
                ("RSA", RS256) => RsaPublicKey(jwk),
                _ => null,
            };
            if (key is not null)
            {
                key.KeyId = kid;
            }

            return key;
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException or InvalidOperationException or NullReferenceException)
        {
            return null;
        }
    }

    private static RsaSecurityKey? RsaPublicKey(JsonObject jwk)
    {
        var modulus = Base64UrlEncoder.DecodeBytes(jwk["n"]!.GetValue<string>());

        // RFC 7518: at least 2048 bits; more than 4096 only costs the verifier CPU.
        if (modulus.Length * 8 is < 2048 or > 4096)
        {
            return null;
        }

        return new RsaSecurityKey(RSA.Create(new RSAParameters { Modulus = modulus, Exponent = Base64UrlEncoder.DecodeBytes(jwk["e"]!.GetValue<string>()) }));
    }

    private static ECDsa ImportEcdsa(byte[] pkcs8)
    {
        var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
        return ecdsa;
    }

    private static RSA ImportRsa(byte[] pkcs8)
    {
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(pkcs8, out _);
        return rsa;
    }
}
