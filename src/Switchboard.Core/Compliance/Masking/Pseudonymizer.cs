using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Compliance.Masking;

/// <summary>
/// Keyed HMAC-SHA-256 for the <c>hash</c> action and the audit digests. Each tenant gets its own key derived from the
/// master key, so pseudonyms of one tenant cannot be correlated with another's. The key is secret: phone numbers and
/// ids are low-entropy, so anyone holding it could test guesses.
/// </summary>
public sealed class Pseudonymizer
{
    private readonly byte[] _key;

    public Pseudonymizer(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length < 32)
        {
            throw new ArgumentException("The pseudonym key must be at least 32 bytes.", nameof(key));
        }

        _key = key;
    }

    /// <summary>A stable pseudonym of a value: 16 hex characters (64 bits) of HMAC(tenant key, entity ':' value).</summary>
    public string Pseudonym(string? tenant, string entityType, string value)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(TenantKey(tenant), Encoding.UTF8.GetBytes(entityType + ":" + value), mac);
        return Convert.ToHexStringLower(mac[..8]);
    }

    /// <summary>A digest of arguments or a result for the audit record: <c>hmac-sha256:</c> and 64 hex characters.</summary>
    public string Digest(ReadOnlySpan<byte> utf8)
        => "hmac-sha256:" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, utf8));

    private byte[] TenantKey(string? tenant)
        => tenant is null ? _key : HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("tenant:" + tenant));
}
