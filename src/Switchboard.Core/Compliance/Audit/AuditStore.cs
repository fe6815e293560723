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
        (2, "audit_tree_and_open_intents", """
            CREATE TABLE audit_tree (
                height      INTEGER NOT NULL,
                idx         INTEGER NOT NULL,
                hash        BLOB NOT NULL,
                PRIMARY KEY (height, idx)
            ) STRICT, WITHOUT ROWID;
            CREATE TABLE audit_open_intents (
                id          INTEGER PRIMARY KEY CHECK (id = 1),
                through_seq INTEGER NOT NULL,
                open        TEXT NOT NULL
            ) STRICT;
            """),
        (3, "audit_pruned", """
            CREATE TABLE audit_pruned (
                before_seq  INTEGER PRIMARY KEY NOT NULL,
                chain_hash  BLOB NOT NULL,
                pruned_at   TEXT NOT NULL,
                archive     TEXT NOT NULL
            ) STRICT;
            """),
        // The id of the newest checkpoint when the prune committed: a checkpoint over pruned records stored after it was
        // signed over a log missing them. (Comparing signing times instead raised a false alarm after a clock stepped back.)
        (4, "audit_pruned_checkpoints_through", """
            ALTER TABLE audit_pruned ADD COLUMN checkpoints_through INTEGER;
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

    /// <summary>The last record's sequence number and chain hash (null on an empty log): one row, whatever the log's size.</summary>
    public static (long? LastSequence, byte[]? LastChain) ReadLast(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1;";
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), (byte[])reader[1]) : (null, null);
    }

    /// <summary>
    /// <paramref name="count"/> consecutive hashes at <paramref name="height"/> from index <paramref name="from"/>: leaf
    /// hashes at height 0, stored tiles above. Throws <see cref="InvalidDataException"/> when any is missing.
    /// </summary>
    internal static List<byte[]> ReadHashes(SqliteConnection connection, SqliteTransaction? transaction, int height, long from, int count)
    {
        var hashes = new List<byte[]>(count);
        if (count == 0)
        {
            return hashes;
        }

        foreach (var (index, hash) in StreamHashes(connection, transaction, height, from, from + count))
        {
            if (index != from + hashes.Count)
            {
                break;
            }

            hashes.Add(hash);
        }

        return hashes.Count == count
            ? hashes
            : throw new InvalidDataException($"The audit log's {(height == 0 ? "record" : "tree tile")} {from + hashes.Count} (height {height}) is missing; run `switchboard audit verify`.");
    }

    /// <summary>The hashes at <paramref name="height"/> with index in [<paramref name="from"/>, <paramref name="to"/>), in order, as stored.</summary>
    internal static IEnumerable<(long Index, byte[] Hash)> StreamHashes(SqliteConnection connection, SqliteTransaction? transaction, int height, long from, long to)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = height == 0
            ? "SELECT seq, leaf_hash FROM audit_log WHERE seq >= $from AND seq < $to ORDER BY seq;"
            : "SELECT idx, hash FROM audit_tree WHERE height = $height AND idx >= $from AND idx < $to ORDER BY idx;";
        command.Parameters.AddWithValue("$height", height);
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(0), (byte[])reader[1]);
        }
    }

    /// <summary>The records from <paramref name="fromSequence"/> on, in order or newest first (synchronously, for the writer thread).</summary>
    internal static IEnumerable<StoredAuditRecord> StreamRecords(SqliteConnection connection, SqliteTransaction? transaction, long fromSequence, bool descending = false)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = descending
            ? "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq >= $from ORDER BY seq DESC;"
            : "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq >= $from ORDER BY seq;";
        command.Parameters.AddWithValue("$from", fromSequence);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ReadRecord(reader);
        }
    }

    /// <summary>Every stored tree tile (none when the database predates them), for <c>audit verify</c>: 32 bytes per 256 records.</summary>
    internal static Dictionary<(int Height, long Index), byte[]> ReadAllTiles(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var tiles = new Dictionary<(int, long), byte[]>();
        if (!TableExists(connection, transaction, "audit_tree"))
        {
            return tiles;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;

        command.CommandText = "SELECT height, idx, hash FROM audit_tree;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            tiles[(reader.GetInt32(0), reader.GetInt64(1))] = (byte[])reader[2];
        }

        return tiles;
    }

    /// <summary>
    /// The index of the first tile of <paramref name="height"/> not stored. Tiles are written in order, so it is normally
    /// the highest index plus one; with <paramref name="findHoles"/> (at start, after a failure, before a prune) a tile
    /// missing below stored ones is looked for too — a count of the level's tiles, and a scan only when it disagrees.
    /// </summary>
    internal static long FirstMissingTile(SqliteConnection connection, SqliteTransaction? transaction, int height, bool findHoles)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$height", height);
        if (!findHoles)
        {
            // The writer's catch-up path: one index lookup, whatever the size of the log.
            command.CommandText = "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE height = $height;";
            return (long)command.ExecuteScalar()!;
        }

        command.CommandText = "SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE height = $height;";
        long count, end;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            (count, end) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        if (count == end)
        {
            return count;
        }

        command.CommandText = "SELECT idx FROM audit_tree WHERE height = $height ORDER BY idx;";
        using var indexes = command.ExecuteReader();
        long expected = 0;
        while (indexes.Read() && indexes.GetInt64(0) == expected)
        {
            expected++;
        }

        return expected;
    }

    /// <summary>Deletes tiles that cover records the log does not hold (only a truncated or tampered file has any).</summary>
    internal static void DeleteTilesBeyond(SqliteConnection connection, SqliteTransaction transaction, long size)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM audit_tree WHERE idx >= ($size >> height);";
        command.Parameters.AddWithValue("$size", size);
        command.ExecuteNonQuery();
    }

    /// <summary>Inserts tiles inside the caller's write transaction.</summary>
    internal static void InsertTiles(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<AuditTile> tiles)
    {
        if (tiles.Count == 0)
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT OR REPLACE INTO audit_tree (height, idx, hash) VALUES ($height, $idx, $hash);";
        var height = command.Parameters.Add("$height", SqliteType.Integer);
        var index = command.Parameters.Add("$idx", SqliteType.Integer);
        var hash = command.Parameters.Add("$hash", SqliteType.Blob);
        foreach (var tile in tiles)
        {
            height.Value = tile.Height;
            index.Value = tile.Index;
            hash.Value = tile.Hash;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Every <c>audit prune</c> so far, oldest first: the first record still stored after it, the chain hash of the last
    /// record it archived, when, and into which file (empty when nothing was pruned, also on a database from before
    /// pruning existed). The log now starts at the last one's <c>Before</c>.
    /// </summary>
    internal static List<(long Before, byte[] ChainHash, string PrunedAt, string Archive, long? CheckpointsThrough)> ReadPrunes(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var prunes = new List<(long, byte[], string, string, long?)>();
        if (!TableExists(connection, transaction, "audit_pruned"))
        {
            return prunes;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;

        // A file last opened by the version before migration 4 (audit verify does not migrate) has no such column.
        command.CommandText = "SELECT COUNT(*) FROM pragma_table_info('audit_pruned') WHERE name = 'checkpoints_through';";
        var through = (long)command.ExecuteScalar()! > 0 ? "checkpoints_through" : "NULL";
        command.CommandText = $"SELECT before_seq, chain_hash, pruned_at, archive, {through} FROM audit_pruned ORDER BY before_seq;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            prunes.Add((reader.GetInt64(0), (byte[])reader[1], reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetInt64(4)));
        }

        return prunes;
    }

    /// <summary>The latest <c>audit prune</c> (null when there was none).</summary>
    internal static (long Before, byte[] ChainHash, string PrunedAt, string Archive, long? CheckpointsThrough)? ReadPruned(SqliteConnection connection, SqliteTransaction? transaction)
        => ReadPrunes(connection, transaction) is { Count: > 0 } prunes ? prunes[^1] : null;

    /// <summary>The saved set of open intents: which calls had no outcome record among the records before <c>ThroughSequence</c>.</summary>
    internal static (long ThroughSequence, List<long> Open)? ReadOpenIntents(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT through_seq, open FROM audit_open_intents WHERE id = 1;";
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var open = new List<long>();
        foreach (var part in reader.GetString(1).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            open.Add(long.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
        }

        return (reader.GetInt64(0), open);
    }

    /// <summary>Saves the set of open intents as of the records before <paramref name="throughSequence"/> (inside the caller's transaction, if any).</summary>
    internal static void SaveOpenIntents(SqliteConnection connection, SqliteTransaction? transaction, long throughSequence, IEnumerable<long> open)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO audit_open_intents (id, through_seq, open) VALUES (1, $through, $open)
            ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq, open = excluded.open;
            """;
        command.Parameters.AddWithValue("$through", throughSequence);
        command.Parameters.AddWithValue("$open", string.Join(',', open.Order()));
        command.ExecuteNonQuery();
    }

    public static async IAsyncEnumerable<StoredAuditRecord> ReadRecordsAsync(SqliteConnection connection, SqliteTransaction? transaction, long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq >= $from ORDER BY seq;";
        command.Parameters.AddWithValue("$from", fromSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadRecord(reader);
        }
    }

    public static async Task<StoredAuditRecord?> ReadRecordAsync(SqliteConnection connection, long sequence, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, record, leaf_hash, chain_hash FROM audit_log WHERE seq = $seq;";
        command.Parameters.AddWithValue("$seq", sequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ReadRecord(reader)
            : null;
    }

    /// <summary>The newest checkpoint (null when there is none): one row, however many a long-running log has signed.</summary>
    public static async Task<StoredCheckpoint?> ReadLatestCheckpointAsync(SqliteConnection connection, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws FROM audit_checkpoints ORDER BY id DESC LIMIT 1;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ReadCheckpoint(reader)
            : null;
    }

    public static async Task<List<StoredCheckpoint>> ReadCheckpointsAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        var checkpoints = new List<StoredCheckpoint>();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws FROM audit_checkpoints ORDER BY id;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            checkpoints.Add(ReadCheckpoint(reader));
        }

        return checkpoints;
    }

    /// <summary>The newest checkpoints first, at most <paramref name="limit"/>, read as the caller goes.</summary>
    internal static IEnumerable<StoredCheckpoint> ReadNewestCheckpoints(SqliteConnection connection, SqliteTransaction? transaction, int limit)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws FROM audit_checkpoints ORDER BY id DESC LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ReadCheckpoint(reader);
        }
    }

    /// <summary>The stored id of each checkpoint (by its JWS): the order in which they were stored.</summary>
    internal static Dictionary<string, long> ReadCheckpointIds(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, jws FROM audit_checkpoints;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.TryAdd(reader.GetString(1), reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>A record row as selected by <c>seq, record, leaf_hash, chain_hash</c>.</summary>
    private static StoredAuditRecord ReadRecord(SqliteDataReader reader)
        => new(reader.GetInt64(0), reader.GetString(1), (byte[])reader[2], (byte[])reader[3]);

    /// <summary>A checkpoint row as selected by <c>tree_size, root_hash, chain_hash, created_at, kid, public_jwk, jws</c>.</summary>
    private static StoredCheckpoint ReadCheckpoint(SqliteDataReader reader)
        => new(reader.GetInt64(0), (byte[])reader[1], (byte[])reader[2], reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6));

    /// <summary>True when the audit database has the table (one from a later schema migration may be missing in an older file).</summary>
    private static bool TableExists(SqliteConnection connection, SqliteTransaction? transaction, string name)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return (long)command.ExecuteScalar()! > 0;
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
