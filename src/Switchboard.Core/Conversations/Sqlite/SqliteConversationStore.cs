using Microsoft.Data.Sqlite;
using Switchboard.Storage;

namespace Switchboard.Conversations.Sqlite;

/// <summary>
/// The embedded conversation store: the <c>conversations</c> and <c>conversation_operations</c> tables of the main SQLite
/// file (migration 5). A compare-and-swap is one IMMEDIATE transaction: a conditional update (or insert) of the
/// document row and the insert of the operation row, rolled back together when either does not apply.
/// </summary>
internal sealed class SqliteConversationStore(SqliteDatabase database) : IConversationStore
{
    /// <summary>The schema of migration 5 (applied by <see cref="SqliteDatabase"/>).</summary>
    internal const string Schema = """
        CREATE TABLE conversations (
            id         TEXT PRIMARY KEY NOT NULL,
            version    INTEGER NOT NULL,
            owner      TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            document   BLOB NOT NULL
        ) STRICT;
        CREATE INDEX conversations_expires_at ON conversations (expires_at);
        CREATE TABLE conversation_operations (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq             INTEGER NOT NULL,
            operation_id    TEXT NOT NULL,
            recorded_at     INTEGER NOT NULL,
            result          BLOB NOT NULL,
            PRIMARY KEY (conversation_id, seq),
            UNIQUE (conversation_id, operation_id)
        ) STRICT;
        CREATE INDEX conversation_operations_recorded_at ON conversation_operations (recorded_at);
        """;

    public async ValueTask<StoredConversation?> GetAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, owner, expires_at, document FROM conversations WHERE id = $id;";
        command.Parameters.AddWithValue("$id", conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredConversation(
            conversationId,
            reader.GetInt64(0),
            reader.GetString(1),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
            (byte[])reader.GetValue(3));
    }

    public async ValueTask<StoreWriteStatus> CompareAndSwapAsync(ConversationWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var document = connection.CreateCommand())
        {
            document.Transaction = transaction;
            document.CommandText = write.ExpectedVersion == 0
                ? "INSERT INTO conversations (id, version, owner, expires_at, document) VALUES ($id, 1, $owner, $expires, $document) ON CONFLICT (id) DO NOTHING;"
                : "UPDATE conversations SET version = version + 1, expires_at = $expires, document = $document WHERE id = $id AND version = $expected AND owner = $owner;";
            document.Parameters.AddWithValue("$id", write.ConversationId);
            document.Parameters.AddWithValue("$owner", write.Owner);
            document.Parameters.AddWithValue("$expected", write.ExpectedVersion);
            document.Parameters.AddWithValue("$expires", write.ExpiresAt.ToUnixTimeMilliseconds());
            document.Parameters.Add("$document", SqliteType.Blob).Value = write.Document.ToArray();
            if (await document.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return StoreWriteStatus.VersionMismatch;
            }
        }

        if (write.Operation is { } operation)
        {
            await using var append = connection.CreateCommand();
            append.Transaction = transaction;
            append.CommandText = """
                INSERT INTO conversation_operations (conversation_id, seq, operation_id, recorded_at, result)
                VALUES ($id, $seq, $operation, $at, $result)
                ON CONFLICT (conversation_id, operation_id) DO NOTHING;
                """;
            append.Parameters.AddWithValue("$id", write.ConversationId);
            append.Parameters.AddWithValue("$seq", write.ExpectedVersion + 1);
            append.Parameters.AddWithValue("$operation", operation.OperationId);
            append.Parameters.AddWithValue("$at", operation.RecordedAt.ToUnixTimeMilliseconds());
            append.Parameters.Add("$result", SqliteType.Blob).Value = operation.Result.ToArray();
            if (await append.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return StoreWriteStatus.DuplicateOperation;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return StoreWriteStatus.Written;
    }

    public async ValueTask<StoredOperation?> GetOperationAsync(string conversationId, string operationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, recorded_at, result FROM conversation_operations WHERE conversation_id = $id AND operation_id = $operation;";
        command.Parameters.AddWithValue("$id", conversationId);
        command.Parameters.AddWithValue("$operation", operationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredOperation(operationId, reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), (byte[])reader.GetValue(2));
    }

    public async ValueTask<bool> TouchAsync(string conversationId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // Expiry only moves forward: a late touch from a slow replica must not shorten a newer one.
        command.CommandText = "UPDATE conversations SET expires_at = max(expires_at, $expires) WHERE id = $id;";
        command.Parameters.AddWithValue("$id", conversationId);
        command.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async ValueTask<bool> DeleteAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM conversations WHERE id = $id;";
        command.Parameters.AddWithValue("$id", conversationId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async ValueTask<IReadOnlyList<string>> ExpireAsync(DateTimeOffset now, DateTimeOffset operationsBefore, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var expired = new List<string>();
        await using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "DELETE FROM conversations WHERE id IN (SELECT id FROM conversations WHERE expires_at <= $now ORDER BY expires_at LIMIT $limit) RETURNING id;";
            select.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            select.Parameters.AddWithValue("$limit", limit);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                expired.Add(reader.GetString(0));
            }
        }

        await using (var prune = connection.CreateCommand())
        {
            prune.Transaction = transaction;
            prune.CommandText = "DELETE FROM conversation_operations WHERE recorded_at < $before;";
            prune.Parameters.AddWithValue("$before", operationsBefore.ToUnixTimeMilliseconds());
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return expired;
    }
}
