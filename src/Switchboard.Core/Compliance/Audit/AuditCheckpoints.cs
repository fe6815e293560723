using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Security;

namespace Switchboard.Compliance.Audit;

/// <summary>The signed statement of a checkpoint, once its signature has been checked.</summary>
public sealed record CheckpointStatement(long TreeSize, string RootHash, string ChainHash, string Time, string Kid);

/// <summary>
/// Signed checkpoints: a compact JWS (ES256 or RS256, from the signing-key ring, with <c>kid</c> in its header) over
/// <c>{"log":"switchboard-audit","treeSize":n,"rootHash":hex,"chainHash":hex,"time":iso}</c>. The public JWK of the
/// signing key is kept beside each checkpoint, so retired keys still verify old checkpoints; whether that key is
/// trusted is decided separately (the ring, the exported <c>keys.jwks</c>, or a file the auditor supplies).
/// </summary>
public static class AuditCheckpoints
{
    public const string LogName = "switchboard-audit";

    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static StoredCheckpoint Sign(long treeSize, byte[] rootHash, byte[] chainHash, DateTimeOffset now, SigningCredentials credentials, string publicJwk)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var time = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        var payload = new JsonObject
        {
            ["chainHash"] = Convert.ToHexStringLower(chainHash),
            ["log"] = LogName,
            ["rootHash"] = Convert.ToHexStringLower(rootHash),
            ["time"] = time,
            ["treeSize"] = treeSize,
        };
        var jws = s_handler.CreateToken(payload.ToJsonString(), credentials, new Dictionary<string, object> { ["typ"] = "switchboard-checkpoint+jws" });
        return new StoredCheckpoint(treeSize, rootHash, chainHash, time, credentials.Key.KeyId, publicJwk, jws);
    }

    /// <summary>
    /// Checks the signature of <paramref name="checkpoint"/> with its stored JWK and that the signed statement agrees with
    /// the stored columns. Returns the statement, or null with the reason.
    /// </summary>
    public static CheckpointStatement? Verify(StoredCheckpoint checkpoint, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        problem = null;
        var parts = checkpoint.Jws.Split('.');
        if (parts.Length != 3)
        {
            problem = "the checkpoint is not a compact JWS";
            return null;
        }

        JsonObject? header;
        JsonObject? payload;
        byte[] signature;
        try
        {
            header = JsonNode.Parse(Base64UrlEncoder.DecodeBytes(parts[0])) as JsonObject;
            payload = JsonNode.Parse(Base64UrlEncoder.DecodeBytes(parts[1])) as JsonObject;
            signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or ArgumentException)
        {
            problem = "the checkpoint JWS cannot be decoded";
            return null;
        }

        if (header is null || payload is null || JsonNode.Parse(checkpoint.PublicJwk) is not JsonObject jwk)
        {
            problem = "the checkpoint JWS or its key is not JSON";
            return null;
        }

        var algorithm = header["alg"]?.GetValue<string>();
        var kid = header["kid"]?.GetValue<string>();
        var key = SigningKeyMaterial.PublicKey(jwk, out var keyAlgorithm);
        if (key is null || algorithm != keyAlgorithm || kid != checkpoint.Kid || jwk["kid"]?.GetValue<string>() != kid)
        {
            problem = $"the checkpoint's key {kid} does not match the key stored with it";
            return null;
        }

        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        var valid = key switch
        {
            ECDsaSecurityKey ec => ec.ECDsa.VerifyData(signed, signature, HashAlgorithmName.SHA256),
            RsaSecurityKey rsa => rsa.Rsa.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => false,
        };
        if (!valid)
        {
            problem = $"the signature of the checkpoint (key {kid}) is not valid";
            return null;
        }

        var statement = new CheckpointStatement(
            payload["treeSize"]?.GetValue<long>() ?? -1,
            payload["rootHash"]?.GetValue<string>() ?? string.Empty,
            payload["chainHash"]?.GetValue<string>() ?? string.Empty,
            payload["time"]?.GetValue<string>() ?? string.Empty,
            kid!);
        if (payload["log"]?.GetValue<string>() != LogName
            || statement.TreeSize != checkpoint.TreeSize
            || statement.RootHash != Convert.ToHexStringLower(checkpoint.RootHash)
            || statement.ChainHash != Convert.ToHexStringLower(checkpoint.ChainHash)
            || statement.Time != checkpoint.CreatedAt)
        {
            problem = "the signed checkpoint does not match the values stored beside it";
            return null;
        }

        return statement;
    }

    /// <summary>True when two JWKs are the same public key (whatever their member order).</summary>
    public static bool SamePublicKey(string a, string b)
    {
        if (JsonNode.Parse(a) is not JsonObject x || JsonNode.Parse(b) is not JsonObject y)
        {
            return false;
        }

        static string Member(JsonObject o, string name) => o[name]?.GetValue<string>() ?? string.Empty;
        return Member(x, "kty") == Member(y, "kty") && Member(x, "kid") == Member(y, "kid")
            && Member(x, "crv") == Member(y, "crv") && Member(x, "x") == Member(y, "x") && Member(x, "y") == Member(y, "y")
            && Member(x, "n") == Member(y, "n") && Member(x, "e") == Member(y, "e");
    }

    /// <summary>A checkpoint as one line of <c>checkpoints.jsonl</c>.</summary>
    public static string ToExportLine(StoredCheckpoint checkpoint) => new JsonObject
    {
        ["treeSize"] = checkpoint.TreeSize,
        ["rootHash"] = Convert.ToHexStringLower(checkpoint.RootHash),
        ["chainHash"] = Convert.ToHexStringLower(checkpoint.ChainHash),
        ["time"] = checkpoint.CreatedAt,
        ["kid"] = checkpoint.Kid,
        ["jwk"] = JsonNode.Parse(checkpoint.PublicJwk),
        ["jws"] = checkpoint.Jws,
    }.ToJsonString();

    public static StoredCheckpoint? FromExportLine(string line)
    {
        try
        {
            if (JsonNode.Parse(line) is not JsonObject o)
            {
                return null;
            }

            return new StoredCheckpoint(
                o["treeSize"]!.GetValue<long>(),
                Convert.FromHexString(o["rootHash"]!.GetValue<string>()),
                Convert.FromHexString(o["chainHash"]!.GetValue<string>()),
                o["time"]!.GetValue<string>(),
                o["kid"]!.GetValue<string>(),
                o["jwk"]!.ToJsonString(),
                o["jws"]!.GetValue<string>());
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            return null;
        }
    }
}
