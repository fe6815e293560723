using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Switchboard.Compliance.Masking;

/// <summary>
/// The vaults of the <c>tokenize</c> action: one per conversation, in memory only (originals never reach a disk), so a
/// token resolves only in the conversation that minted it. Tokens are numbered per conversation and entity type
/// (<c>«EMAIL_1»</c>); the same value gets the same token for the life of the vault. A vault unused for
/// <see cref="TokenVaultOptions.IdleTimeout"/> is dropped, and at most <see cref="TokenVaultOptions.MaxConversations"/> are kept.
/// </summary>
public sealed class TokenVaultStore(IOptions<ComplianceOptions> options, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, Vault> _vaults = new(StringComparer.Ordinal);

    /// <summary>Number of conversations with a vault.</summary>
    public int Count => _vaults.Count;

    /// <summary>The token for <paramref name="value"/> in the conversation, creating it; null when the vault is full.</summary>
    public string? Tokenize(string conversationId, string entityType, string value)
    {
        var vault = GetOrCreate(conversationId);
        return vault.Tokenize(entityType, value, options.Value.Vault.MaxEntriesPerConversation);
    }

    /// <summary>The original value of a token minted in this conversation; null for any other token.</summary>
    public string? Resolve(string conversationId, string token)
    {
        if (!_vaults.TryGetValue(conversationId, out var vault) || IsIdle(vault))
        {
            return null;
        }

        vault.Touch(timeProvider.GetTimestamp());
        return vault.Resolve(token);
    }

    private Vault GetOrCreate(string conversationId)
    {
        var now = timeProvider.GetTimestamp();
        if (_vaults.TryGetValue(conversationId, out var existing))
        {
            if (!IsIdle(existing))
            {
                existing.Touch(now);
                return existing;
            }

            _vaults.TryRemove(new KeyValuePair<string, Vault>(conversationId, existing));
        }

        var created = _vaults.GetOrAdd(conversationId, _ => new Vault(now));
        created.Touch(now);
        if (_vaults.Count > options.Value.Vault.MaxConversations)
        {
            Evict();
        }

        return created;
    }

    private bool IsIdle(Vault vault) => timeProvider.GetElapsedTime(vault.LastUsed) > options.Value.Vault.IdleTimeout;

    private void Evict()
    {
        // Rare (only past the limit): drop idle vaults, then the least recently used until under the limit.
        foreach (var (id, vault) in _vaults)
        {
            if (IsIdle(vault))
            {
                _vaults.TryRemove(id, out _);
            }
        }

        var excess = _vaults.Count - options.Value.Vault.MaxConversations;
        if (excess > 0)
        {
            foreach (var (id, _) in _vaults.OrderBy(v => v.Value.LastUsed).Take(excess).ToList())
            {
                _vaults.TryRemove(id, out _);
            }
        }
    }

    private sealed class Vault(long created)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
        private long _lastUsed = created;

        public long LastUsed => Volatile.Read(ref _lastUsed);

        public void Touch(long now) => Volatile.Write(ref _lastUsed, now);

        public string? Tokenize(string entityType, string value, int maxEntries)
        {
            var key = entityType + "\u0000" + value;
            lock (_lock)
            {
                if (_tokens.TryGetValue(key, out var token))
                {
                    return token;
                }

                if (_values.Count >= maxEntries)
                {
                    return null;
                }

                var next = _counters.GetValueOrDefault(entityType) + 1;
                _counters[entityType] = next;
                token = $"\u00AB{entityType}_{next}\u00BB";
                _tokens[key] = token;
                _values[token] = value;
                return token;
            }
        }

        public string? Resolve(string token)
        {
            lock (_lock)
            {
                return _values.GetValueOrDefault(token);
            }
        }
    }
}
