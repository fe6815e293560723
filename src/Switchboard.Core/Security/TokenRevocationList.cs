using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Storage;

namespace Switchboard.Security;

/// <summary>A revoked access token as stored: which token (<c>iss</c> and <c>jti</c>), until when it matters, and why.</summary>
public sealed record RevokedToken(string Issuer, string TokenId, DateTimeOffset ExpiresAt, DateTimeOffset RevokedAt, string? Reason);

/// <summary>
/// Access tokens revoked one by one, by <c>iss</c> and <c>jti</c> (a leaked token, a user who left), as opposed to every
/// token of a signing key. Kept in the data folder's database and held in memory by every replica, which loads new
/// entries at start and at every <c>Keys:CheckInterval</c> (so a revocation by the CLI or another replica reaches it
/// within one interval; one made through this instance applies at once). An entry is dropped once its token's
/// <c>exp</c> plus the clock skew has passed: the token is refused for its age from then on.
/// </summary>
public sealed partial class TokenRevocationList(
    SqliteDatabase database,
    IOptions<SecurityOptions> options,
    TimeProvider timeProvider,
    ILogger<TokenRevocationList> logger) : IDisposable
{
    private readonly ConcurrentDictionary<(string Issuer, string TokenId), DateTimeOffset> _revoked = new();
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private long _lastSeq;

    // Read on every request. ConcurrentDictionary.IsEmpty takes all its locks when the dictionary is empty (the usual
    // case), so the hot path reads this flag, which is set after every change instead.
    private volatile bool _any;

    /// <summary>How many revoked, unexpired tokens this instance holds.</summary>
    public int Count => _revoked.Count;

    /// <summary>True when the token <paramref name="tokenId"/> of <paramref name="issuer"/> was revoked.</summary>
    public bool IsRevoked(string issuer, string tokenId) => _any && _revoked.ContainsKey((issuer, tokenId));

    /// <summary>
    /// Revokes a token; <paramref name="expiresAt"/> is its <c>exp</c> (or a time no token of that issuer outlives).
    /// Returns false when it was already revoked.
    /// </summary>
    public async Task<bool> RevokeAsync(string issuer, string tokenId, DateTimeOffset expiresAt, string? reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentException.ThrowIfNullOrEmpty(tokenId);
        int inserted;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                INSERT INTO revoked_tokens (issuer, jti, expires_at, revoked_at, reason) VALUES ($issuer, $jti, $expires, $revoked, $reason)
                ON CONFLICT (issuer, jti) DO NOTHING;
                """;
            command.Parameters.AddWithValue("$issuer", issuer);
            command.Parameters.AddWithValue("$jti", tokenId);
            command.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$revoked", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
            inserted = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // In force here at once; other replicas load it at their next check.
        _revoked.AddOrUpdate((issuer, tokenId), expiresAt, (_, known) => known > expiresAt ? known : expiresAt);
        _any = true;
        await RefreshAsync(cancellationToken);
        return inserted > 0;
    }

    /// <summary>Loads revocations made since the last load (by the CLI or other replicas) and drops expired ones.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            var cutoff = timeProvider.GetUtcNow() - options.Value.ClockSkew;
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT seq, issuer, jti, expires_at FROM revoked_tokens WHERE seq > $last ORDER BY seq;";
                read.Parameters.AddWithValue("$last", _lastSeq);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                var loaded = 0;
                while (await reader.ReadAsync(cancellationToken))
                {
                    _lastSeq = reader.GetInt64(0);
                    var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3));
                    if (expiresAt > cutoff)
                    {
                        _revoked.AddOrUpdate((reader.GetString(1), reader.GetString(2)), expiresAt, (_, known) => known > expiresAt ? known : expiresAt);
                        loaded++;
                    }
                }

                if (loaded > 0)
                {
                    Log.Loaded(logger, loaded, _revoked.Count);
                }
            }

            foreach (var (key, expiresAt) in _revoked)
            {
                if (expiresAt <= cutoff)
                {
                    _revoked.TryRemove(new KeyValuePair<(string, string), DateTimeOffset>(key, expiresAt));
                }
            }

            _any = !_revoked.IsEmpty;
            await using var prune = connection.CreateCommand();
            prune.CommandText = "DELETE FROM revoked_tokens WHERE expires_at <= $cutoff;";
            prune.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>The revocations still in force, oldest first.</summary>
    public async Task<IReadOnlyList<RevokedToken>> ListAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - options.Value.ClockSkew;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT issuer, jti, expires_at, revoked_at, reason FROM revoked_tokens WHERE expires_at > $cutoff ORDER BY seq;";
        command.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var tokens = new List<RevokedToken>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tokens.Add(new RevokedToken(
                reader.GetString(0),
                reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader[4] as string));
        }

        return tokens;
    }

    public void Dispose() => _refreshLock.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 6010, EventName = "RevokedTokensLoaded", Level = LogLevel.Information, Message = "Loaded {Loaded} token revocations; {Count} revoked tokens are unexpired")]
        public static partial void Loaded(ILogger logger, int loaded, int count);
    }
}
