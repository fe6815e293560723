using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>
/// Remembers tokens that passed full validation, so a client presenting the same token on every request (what MCP
/// clients do) pays for the signature check once instead of every time. An entry is used only while its token is still
/// within <c>exp</c> plus skew and while the exact key that verified it is still the one its <c>kid</c> resolves to — so
/// revoking or retiring a key, or an external issuer dropping it from its JWKS, ends the cached acceptance at once, as
/// it would for an uncached validation; so does revoking the token itself (its <c>jti</c>). Only valid tokens are stored (a forged token never gets an entry), keyed by the
/// SHA-256 of the token, and the cache is bounded.
/// </summary>
internal sealed class ValidatedTokenCache(int capacity)
{
    private readonly ConcurrentDictionary<string, CachedToken> entries = new(StringComparer.Ordinal);

    public bool Enabled => capacity > 0;

    public static string KeyFor(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(token);
        SHA256.HashData(bytes, hash);
        return Convert.ToBase64String(hash);
    }

    public bool TryGet(string key, out CachedToken entry) => entries.TryGetValue(key, out entry!);

    public void Remove(string key) => entries.TryRemove(key, out _);

    public void Add(string key, CachedToken entry, DateTimeOffset now)
    {
        if (entries.Count >= capacity)
        {
            foreach (var (existingKey, existing) in entries)
            {
                if (now >= existing.ValidUntil)
                {
                    entries.TryRemove(existingKey, out _);
                }
            }

            // Still full of live tokens: start over rather than track recency on every hit; the cost is one full
            // validation per token, once.
            if (entries.Count >= capacity)
            {
                entries.Clear();
            }
        }

        entries[key] = entry;
    }
}

/// <summary>A token that passed validation: who it names, which key verified it, and until when it is acceptable.</summary>
internal sealed record CachedToken(ClaimsPrincipal Principal, string Issuer, string TokenId, string Kid, SecurityKey Key, DateTimeOffset ValidUntil);
