using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Storage;

/// <summary>
/// The embedded default store: one SQLite file (<c>switchboard.db</c>) in the data folder, in WAL mode, with versioned
/// migrations applied at start. Later features add their tables as further migrations.
/// </summary>
public sealed partial class SqliteDatabase(IOptions<SwitchboardOptions> options, TimeProvider timeProvider, ILogger<SqliteDatabase> logger)
{
    public const string FileName = "switchboard.db";

    private readonly string _path = Path.GetFullPath(Path.Combine(options.Value.DataDirectory, FileName));
    private string? _connectionString;

    /// <summary>Full path of the database file.</summary>
    public string FilePath => _path;

    /// <summary>The installation id written on first start; stable for the life of the data folder.</summary>
    public string? InstallationId { get; private set; }

    /// <summary>The ordered list of schema migrations. Never edit an entry once shipped; append a new one.</summary>
    internal static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } =
    [
        (1, "meta", """
            CREATE TABLE meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            ) STRICT;
            """),
        (2, "upstream_tools", """
            CREATE TABLE upstream_tools (
                upstream    TEXT PRIMARY KEY NOT NULL,
                fingerprint TEXT NOT NULL,
                tools       TEXT NOT NULL,
                updated_at  TEXT NOT NULL
            ) STRICT;
            """),
        (3, "security", """
            CREATE TABLE key_ring (
                id      INTEGER PRIMARY KEY CHECK (id = 1),
                version INTEGER NOT NULL
            ) STRICT;
            INSERT INTO key_ring (id, version) VALUES (1, 0);
            CREATE TABLE signing_keys (
                kid          TEXT PRIMARY KEY NOT NULL,
                algorithm    TEXT NOT NULL,
                created_at   INTEGER NOT NULL,
                activate_at  INTEGER NOT NULL,
                retire_at    INTEGER,
                expire_at    INTEGER,
                revoked_at   INTEGER,
                public_jwk   TEXT NOT NULL,
                private_key  BLOB NOT NULL
            ) STRICT;
            CREATE TABLE oauth_clients (
                client_id      TEXT PRIMARY KEY NOT NULL,
                secret_hash    BLOB NOT NULL,
                salt           BLOB NOT NULL,
                iterations     INTEGER NOT NULL,
                allowed_scopes TEXT NOT NULL,
                tenant         TEXT,
                roles          TEXT NOT NULL,
                created_at     INTEGER NOT NULL
            ) STRICT;
            """),

        // 4 is the compliance tables (another branch); versions are applied by number, so a gap is harmless.
        (5, "conversations", Conversations.Sqlite.SqliteConversationStore.Schema),
        (6, "revoked_tokens", """
            CREATE TABLE revoked_tokens (
                seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                issuer     TEXT NOT NULL,
                jti        TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                revoked_at INTEGER NOT NULL,
                reason     TEXT,
                UNIQUE (issuer, jti)
            ) STRICT;
            CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
            """),
    ];

    /// <summary>Creates the data folder and database if needed, applies pending migrations, and records the installation id.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA busy_timeout=30000; PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;", cancellationToken);

        foreach (var (version, name, sql) in Migrations)
        {
            // Microsoft.Data.Sqlite begins transactions IMMEDIATE (write lock first), so two processes starting at once
            // on a fresh folder (Claude Desktop starts one stdio process per entry) cannot both apply a migration.
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using (var check = connection.CreateCommand())
            {
                check.Transaction = transaction;
                check.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE version = $version;";
                check.Parameters.AddWithValue("$version", version);
                if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    continue;
                }
            }

            await ExecuteAsync(connection, sql, cancellationToken, transaction);
            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, $name, $at);";
                record.Parameters.AddWithValue("$version", version);
                record.Parameters.AddWithValue("$name", name);
                record.Parameters.AddWithValue("$at", timeProvider.GetUtcNow().ToString("O"));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            Log.MigrationApplied(logger, version, name);
        }

        InstallationId = await EnsureInstallationIdAsync(connection, cancellationToken);
        Log.Opened(logger, _path);
    }

    /// <summary>Opens a pooled connection with the standard pragmas applied.</summary>
    public async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connectionString = _connectionString ?? throw new InvalidOperationException("The database has not been initialized.");
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;", cancellationToken);
        return connection;
    }

    /// <summary>Reads a value of the <c>meta</c> table.</summary>
    public async Task<string?> GetMetaAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $key;";
        command.Parameters.AddWithValue("$key", key);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Writes a value of the <c>meta</c> table.</summary>
    public async Task SetMetaAsync(string key, string value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<string> EnsureInstallationIdAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT OR IGNORE INTO meta (key, value) VALUES ('installation_id', $id), ('created_at', $at);
            SELECT value FROM meta WHERE key = 'installation_id';
            """;
        insert.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("n"));
        insert.Parameters.AddWithValue("$at", timeProvider.GetUtcNow().ToString("O"));
        return (string)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, EventName = "DatabaseOpened", Level = LogLevel.Information, Message = "Storage: SQLite database {Path}")]
        public static partial void Opened(ILogger logger, string path);

        [LoggerMessage(EventId = 3002, EventName = "MigrationApplied", Level = LogLevel.Information, Message = "Storage: applied migration {Version} ({Name})")]
        public static partial void MigrationApplied(ILogger logger, int version, string name);
    }
}

/// <summary>Opens storage at start-up and reports readiness.</summary>
internal sealed class StorageInitializer(SqliteDatabase database, Scaling.ReadinessState readiness) : Microsoft.Extensions.Hosting.IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        readiness.Register(Scaling.ReadinessState.Storage);
        try
        {
            await database.InitializeAsync(cancellationToken);
        }
        catch
        {
            readiness.MarkFailed(Scaling.ReadinessState.Storage);
            throw;
        }

        readiness.MarkReady(Scaling.ReadinessState.Storage);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
