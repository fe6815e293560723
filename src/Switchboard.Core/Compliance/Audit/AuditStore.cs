using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Switchboard.Compliance.Audit;

/// <summary>One row of the audit log as stored.</summary>
public sealed record StoredAuditRecord(long Sequence, string Record, byte[] LeafHash, byte[] ChainHash);

/// <summary>One signed checkpoint as stored (or as exported).</summary>
public sealed record StoredCheckpoint(long TreeSize, byte[] RootHash, byte[] ChainHash, string CreatedAt, string Kid, string PublicJwk, string Jws);

/// <summary>
/// The audit database: its own SQLite file (<c>audit.db</c> in the data folder) so that its writer can commit with
/// <c>synchronous=FULL</c> (by default) without slowing the main database, with its own versioned schema
/// (<c>audit_schema_migrations</c>). Records are append-only rows; the hashes are stored beside each record and
/// recomputed by <c>switchboard audit verify</c>, which trusts none of them.
/// </summary>
public sealed class AuditStore(string path, bool survivesPowerLoss = true)
{
    public string FilePath { get; } = Path.GetFullPath(path);

    /// <summary>
    /// True: every commit fsyncs the WAL (<c>synchronous=FULL</c>). False: a commit is written to the operating system
    /// but fsynced only at checkpoints (<c>synchronous=NORMAL</c>): it survives a crash or kill of the process, not a
    /// power loss or kernel crash.
    /// </summary>
    public bool SurvivesPowerLoss => survivesPowerLoss;

    /// <summary>The ordered schema migrations of the audit database. Never edit one once shipped; append.</summary>
    internal static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } =
    [
        (1, "audit_log", """
            CREATE TABLE audit_log (
                seq         INTEGER PRIMARY KEY NOT NULL,
                record      TEXT NOT NULL,
                leaf_hash   BLOB NOT NULL,
                chain_hash  BLOB NOT NULL
            ) STRICT;
            CREATE TABLE audit_checkpoints (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                tree_size   INTEGER NOT NULL,
                root_hash   BLOB NOT NULL,
                chain_hash  BLOB NOT NULL,
                created_at  TEXT NOT NULL,
                kid         TEXT NOT NULL,
                public_jwk  TEXT NOT NULL,
                jws         TEXT NOT NULL
            ) STRICT;
            """),
    ];

    /// <summary>Opens a connection, creating the file and applying migrations when <paramref name="create"/> is true.</summary>
    public async Task<SqliteConnection> OpenAsync(bool create, TimeSpan busyTimeout, CancellationToken cancellationToken)
    {
        if (!create && !File.Exists(FilePath))
        {
            throw new FileNotFoundException($"There is no audit database at {FilePath}.", FilePath);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString());
        await connection.OpenAsync(cancellationToken);
        try
        {
            // FULL: a commit is on disk (the WAL is fsynced) before it returns; the intent record relies on it. NORMAL (an
            // operator's choice): in the operating system's cache, so a killed process loses nothing, a power loss may.
            var synchronous = survivesPowerLoss ? "FULL" : "NORMAL";
            await ExecuteAsync(connection, $"PRAGMA busy_timeout={(long)busyTimeout.TotalMilliseconds}; PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};", null, cancellationToken);
            if (create)
            {
                await MigrateAsync(connection, cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public static async Task<(List<byte[]> LeafHashes, byte[]? LastChain, long? LastSequence)> LoadHashesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var leaves = new List<byte[]>();
        byte[]? chain = null;
        long? last = null;
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, leaf_hash, chain_hash FROM audit_log ORDER BY seq;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            last = reader.GetInt64(0);
            leaves.Add((byte[])reader[1]);
            chain = (byte[])reader[2];
        }

        return (leaves, chain, last);
    }

    public static async IAsyncEnumerable<StoredAuditRecord> ReadRecordsAsync(SqliteConnection connection, long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken, bool descending = false)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = descending
            ? "SELECT seq, record, leaf_hash, chain_hash FROM audit_log ORDER BY seq DESC;"
            : "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq >= $from ORDER BY seq;";
        command.Parameters.AddWithValue("$from", fromSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new StoredAuditRecord(reader.GetInt64(0), reader.GetString(1), (byte[])reader[2], (byte[])reader[3]);
        }
    }

    public static async Task<StoredAuditRecord?> ReadRecordAsync(SqliteConnection connection, long sequence, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq = $seq;";
        command.Parameters.AddWithValue("$seq", sequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredAuditRecord(reader.GetInt64(0), reader.GetString(1), (byte[])reader[2], (byte[])reader[3])
            : null;
    }

    public static async Task<List<StoredCheckpoint>> ReadCheckpointsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var checkpoints = new List<StoredCheckpoint>();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws FROM audit_checkpoints ORDER BY id;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            checkpoints.Add(new StoredCheckpoint(reader.GetInt64(0), (byte[])reader[1], (byte[])reader[2], reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)));
        }

        return checkpoints;
    }

    /// <summary>Inserts records inside the caller's write transaction (the caller commits).</summary>
    public static void InsertRecords(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<StoredAuditRecord> records)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_log (seq, record, leaf_hash, chain_hash) VALUES ($seq, $record, $leaf, $chain);";
        var seq = command.Parameters.Add("$seq", SqliteType.Integer);
        var record = command.Parameters.Add("$record", SqliteType.Text);
        var leaf = command.Parameters.Add("$leaf", SqliteType.Blob);
        var chain = command.Parameters.Add("$chain", SqliteType.Blob);
        foreach (var row in records)
        {
            seq.Value = row.Sequence;
            record.Value = row.Record;
            leaf.Value = row.LeafHash;
            chain.Value = row.ChainHash;
            command.ExecuteNonQuery();
        }
    }

    public static void InsertCheckpoint(SqliteConnection connection, SqliteTransaction? transaction, StoredCheckpoint checkpoint)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO audit_checkpoints (tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws)
            VALUES ($size, $root, $chain, $at, $kid, $jwk, $jws);
            """;
        command.Parameters.AddWithValue("$size", checkpoint.TreeSize);
        command.Parameters.AddWithValue("$root", checkpoint.RootHash);
        command.Parameters.AddWithValue("$chain", checkpoint.ChainHash);
        command.Parameters.AddWithValue("$at", checkpoint.CreatedAt);
        command.Parameters.AddWithValue("$kid", checkpoint.Kid);
        command.Parameters.AddWithValue("$jwk", checkpoint.PublicJwk);
        command.Parameters.AddWithValue("$jws", checkpoint.Jws);
        command.ExecuteNonQuery();
    }

    private static async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS audit_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;", null, cancellationToken);
        foreach (var (version, name, sql) in Migrations)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using (var check = connection.CreateCommand())
            {
                check.Transaction = transaction;
                check.CommandText = "SELECT COUNT(*) FROM audit_schema_migrations WHERE version = $version;";
                check.Parameters.AddWithValue("$version", version);
                if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    continue;
                }
            }

            await ExecuteAsync(connection, sql, transaction, cancellationToken);
            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO audit_schema_migrations (version, name) VALUES ($version, $name);";
                record.Parameters.AddWithValue("$version", version);
                record.Parameters.AddWithValue("$name", name);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
