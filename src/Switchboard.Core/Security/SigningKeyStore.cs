using Microsoft.Data.Sqlite;
using Switchboard.Storage;

namespace Switchboard.Security;

/// <summary>The signing keys as stored, with the ring's version (bumped by every change).</summary>
public sealed record KeyRingState(long Version, IReadOnlyList<SigningKeyRecord> Keys);

/// <summary>
/// Where the key ring lives. Small on purpose so every adapter (SQLite, PostgreSQL) can implement it: load, and a
/// compare-and-swap commit on the ring version, so replicas sharing a store rotate once, not once each.
/// </summary>
public interface ISigningKeyStore
{
    Task<KeyRingState> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Writes the changes only if the ring is still at <paramref name="expectedVersion"/>; false when another writer won.</summary>
    Task<bool> TryCommitAsync(long expectedVersion, IReadOnlyList<SigningKeyRecord> upserts, IReadOnlyList<string> deletions, CancellationToken cancellationToken);
}

/// <summary>The key ring in the embedded SQLite database.</summary>
internal sealed class SqliteSigningKeyStore(SqliteDatabase database) : ISigningKeyStore
{
    public async Task<KeyRingState> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT version FROM key_ring WHERE id = 1;
            SELECT kid, algorithm, created_at, activate_at, retire_at, expire_at, revoked_at, public_jwk, private_key FROM signing_keys ORDER BY activate_at, kid;
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var version = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var keys = new List<SigningKeyRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new SigningKeyRecord(
                reader.GetString(0),
                reader.GetString(1),
                FromUnixMs(reader.GetInt64(2)),
                FromUnixMs(reader.GetInt64(3)),
                reader[4] is long retire ? FromUnixMs(retire) : null,
                reader[5] is long expire ? FromUnixMs(expire) : null,
                reader[6] is long revoked ? FromUnixMs(revoked) : null,
                reader.GetString(7),
                (byte[])reader.GetValue(8)));
        }

        return new KeyRingState(version, keys);
    }

    public async Task<bool> TryCommitAsync(long expectedVersion, IReadOnlyList<SigningKeyRecord> upserts, IReadOnlyList<string> deletions, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);

        // Microsoft.Data.Sqlite begins IMMEDIATE (write lock first): two replicas cannot both read one version and write.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var bump = connection.CreateCommand())
        {
            bump.Transaction = transaction;
            bump.CommandText = "UPDATE key_ring SET version = version + 1 WHERE id = 1 AND version = $expected;";
            bump.Parameters.AddWithValue("$expected", expectedVersion);
            if (await bump.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        foreach (var key in upserts)
        {
            await using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO signing_keys (kid, algorithm, created_at, activate_at, retire_at, expire_at, revoked_at, public_jwk, private_key)
                VALUES ($kid, $alg, $created, $activate, $retire, $expire, $revoked, $jwk, $private)
                ON CONFLICT (kid) DO UPDATE SET activate_at = excluded.activate_at, retire_at = excluded.retire_at,
                    expire_at = excluded.expire_at, revoked_at = excluded.revoked_at;
                """;
            upsert.Parameters.AddWithValue("$kid", key.Kid);
            upsert.Parameters.AddWithValue("$alg", key.Algorithm);
            upsert.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeMilliseconds());
            upsert.Parameters.AddWithValue("$activate", key.ActivateAt.ToUnixTimeMilliseconds());
            upsert.Parameters.AddWithValue("$retire", (object?)key.RetireAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$expire", (object?)key.ExpireAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$revoked", (object?)key.RevokedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$jwk", key.PublicJwk);
            upsert.Parameters.AddWithValue("$private", key.EncryptedPrivateKey);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var kid in deletions)
        {
            await using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM signing_keys WHERE kid = $kid;";
            delete.Parameters.AddWithValue("$kid", kid);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}
