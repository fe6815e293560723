using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Switchboard.Compliance.Audit;

/// <summary>A prune that must not happen; the message says why (shown to the operator as is).</summary>
public sealed class AuditPruneRefusedException(string message) : Exception(message);

/// <summary>
/// The prune's commit failed: SQLite may already have written it to the WAL, where a later opening of the database can
/// still apply it. Whether the records were deleted is unknown, so the archive is kept.
/// </summary>
public sealed class AuditPruneOutcomeUnknownException(string message, Exception inner) : Exception(message, inner);

/// <summary>What <see cref="AuditPruner.PruneAsync"/> did.</summary>
public sealed record AuditPruneResult(long From, long Before, string Archive);

/// <summary>
/// <c>switchboard audit prune</c>: moves the oldest records out of the database into an archive file (JSON lines, each
/// record exactly as hashed, fsynced before anything is deleted) so the file stops growing without bound. What stays
/// verifiable: the stored tree tiles of the pruned records are kept (32 bytes per 256 records), so every retained record's
/// inclusion proof and every later signed root are computed as before; the chain hash of the last pruned record is kept,
/// so <c>audit verify</c> checks the chain from the first retained record on; and the archive can be checked against the
/// kept tiles by anyone holding it. Only records a signed checkpoint already covers, and whose open intents the server
/// has saved, are pruned; the cut is rounded down to a multiple of 256 (a whole tile), and one record at least stays.
/// Safe while a server runs on the folder: the archive is written before the write lock is taken, and the lock is held
/// only for the delete, at most <see cref="MaxRecordsPerPrune"/> records.
/// </summary>
public static class AuditPruner
{
    /// <summary>The most records one prune moves: the delete holds the log's write lock, which calls wait for.</summary>
    public const long MaxRecordsPerPrune = 500_000;

    /// <param name="exported">The exported checkpoints (<c>checkpoints.jsonl</c>): those over the records to be archived
    /// are checked against them as well as the stored ones.</param>
    public static async Task<AuditPruneResult> PruneAsync(AuditStore store, long before, string archivePath, IReadOnlyList<StoredCheckpoint> exported, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(exported);
        ArgumentNullException.ThrowIfNull(timeProvider);
        archivePath = Path.GetFullPath(archivePath);
        if (File.Exists(archivePath) || Directory.Exists(archivePath))
        {
            throw new AuditPruneRefusedException($"{archivePath} exists; name a new archive file.");
        }

        before = before / AuditTreeFrontier.TileWidth * AuditTreeFrontier.TileWidth;
        await using var connection = await store.OpenAsync(create: true, TimeSpan.FromSeconds(30), cancellationToken);

        // 1. Checks and the archive, outside the write lock: the records below a signed checkpoint never change.
        var from = Check(connection, null, before, await AuditStore.ReadLatestCheckpointAsync(connection, cancellationToken));

        // Checkpoints over the records about to go will be checked for their signature only from now on: check them
        // against the records while those are still here (tree from the kept tiles, chain from the previous prune).
        var prunes = AuditStore.ReadPrunes(connection, null);
        var inRange = (await AuditStore.ReadCheckpointsAsync(connection, null, cancellationToken)).Concat(exported).Where(c => c.TreeSize >= from && c.TreeSize <= before).ToList();
        if (inRange.FirstOrDefault(c => AuditCheckpoints.Verify(c, out _) is null) is { } unsigned)
        {
            throw Mismatch(unsigned);
        }

        var replay = new PrunedRangeReplay(connection, null, from, before, prunes.Count > 0 ? prunes[^1].ChainHash : new byte[32], inRange);
        if (replay.CheckStart() is { } atStart)
        {
            throw Mismatch(atStart);
        }

        var created = false;
        var committing = false;
        try
        {
            byte[]? chain = null;
            using (var file = new FileStream(archivePath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var writer = new StreamWriter(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" })
            {
                created = true;
                var expected = from;
                foreach (var row in AuditStore.StreamRecords(connection, null, from))
                {
                    if (row.Sequence >= before)
                    {
                        break;
                    }

                    if (row.Sequence != expected)
                    {
                        throw new InvalidDataException($"The audit log has no record {expected}; run `switchboard audit verify`.");
                    }

                    await writer.WriteLineAsync(row.Record);
                    chain = row.ChainHash;
                    expected++;
                    if (replay.Add(row.Record, out _) is { } contradicted)
                    {
                        throw Mismatch(contradicted);
                    }
                }

                if (expected != before)
                {
                    throw new InvalidDataException($"The audit log has no record {expected}; run `switchboard audit verify`.");
                }

                await writer.FlushAsync(cancellationToken);
                // The archive must be on disk before a record is deleted (checked: FileStream.Flush(true) does not report a
                // failed fsync).
                Storage.DurableFile.SyncFile(file.SafeFileHandle, archivePath);
            }

            // The archive's name must be as durable as its bytes before the records go.
            Storage.DurableFile.SyncDirectory(Path.GetDirectoryName(archivePath)!);

            // 2. Under the write lock, only what must be atomic: check again (another prune may have run), carry the open
            // calls, complete the tiles, record the prune, delete.
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            if (Check(connection, transaction, before, await AuditStore.ReadLatestCheckpointAsync(connection, cancellationToken, transaction)) != from)
            {
                throw new AuditPruneRefusedException("another prune ran meanwhile; nothing was deleted, try again.");
            }

            CarryOpenIntents(connection, transaction, before);
            AuditTreeFrontier.Backfill(connection, transaction, AuditStore.ReadLast(connection, transaction).LastSequence!.Value + 1, findHoles: true);
            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = """
                    INSERT INTO audit_pruned (before_seq, chain_hash, pruned_at, archive, checkpoints_through)
                    VALUES ($before, $chain, $at, $archive, (SELECT COALESCE(MAX(id), 0) FROM audit_checkpoints));
                    DELETE FROM audit_log WHERE seq < $before;
                    """;
                record.Parameters.AddWithValue("$before", before);
                record.Parameters.AddWithValue("$chain", chain!);
                record.Parameters.AddWithValue("$at", timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                record.Parameters.AddWithValue("$archive", archivePath);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            committing = true;
            // Not cancellable: once asked to commit, the outcome is what the database says.
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception ex) when (committing)
        {
            // A failed COMMIT is not a rollback: its frames may be in the WAL (only their fsync failed), and the next
            // opening of the database may apply them. The archive may then be the only copy of these records.
            throw new AuditPruneOutcomeUnknownException(
                $"the commit failed ({ex.Message}); records {from} to {before - 1} may or may not have been deleted, so the archive {archivePath} is kept. Run `switchboard audit verify` to see where the log starts, and keep the archive if it starts at {before}.",
                ex);
        }
        catch when (created)
        {
            // Nothing was deleted: the archive would only mislead.
            File.Delete(archivePath);
            throw;
        }

        return new AuditPruneResult(from, before, archivePath);
    }

    private static AuditPruneRefusedException Mismatch(StoredCheckpoint checkpoint) =>
        new($"the checkpoint at tree size {checkpoint.TreeSize} ({checkpoint.CreatedAt}) is not a valid signature over the records it signs; nothing was pruned, run `switchboard audit verify`.");

    /// <summary>Refuses an unsafe prune; returns where the log starts now.</summary>
    private static long Check(SqliteConnection connection, SqliteTransaction? transaction, long before, StoredCheckpoint? checkpoint)
    {
        var size = (AuditStore.ReadLast(connection, transaction).LastSequence ?? -1) + 1;
        var from = AuditStore.ReadPruned(connection, transaction)?.Before ?? 0;
        if (before <= from)
        {
            throw new AuditPruneRefusedException($"nothing to prune before record {before} (rounded down to a multiple of {AuditTreeFrontier.TileWidth}); the log starts at record {from}.");
        }

        if (before >= size)
        {
            throw new AuditPruneRefusedException($"at least one record must stay (the log continues from it); the log has {size} records.");
        }

        if (before - from > MaxRecordsPerPrune)
        {
            throw new AuditPruneRefusedException($"at most {MaxRecordsPerPrune} records a prune (its delete holds the write lock calls wait for); prune in steps, the first --before {from + MaxRecordsPerPrune}.");
        }

        if (checkpoint is null || checkpoint.TreeSize < before || AuditCheckpoints.Verify(checkpoint, out _) is null)
        {
            throw new AuditPruneRefusedException($"only records a signed checkpoint covers can be pruned; the newest checkpoint covers {checkpoint?.TreeSize ?? 0} of {size} records.");
        }

        if (AuditStore.ReadOpenIntents(connection, transaction) is null)
        {
            throw new AuditPruneRefusedException("this log has never been opened by a server of this version; start the server once first.");
        }

        return from;
    }

    /// <summary>
    /// The next start finds calls that never finished from the saved set and the records after it: carry the set past the
    /// records about to go (the server's own later saves account for everything after them too).
    /// </summary>
    private static void CarryOpenIntents(SqliteConnection connection, SqliteTransaction transaction, long before)
    {
        var saved = AuditStore.ReadOpenIntents(connection, transaction)!.Value;
        if (saved.ThroughSequence >= before)
        {
            return;
        }

        var open = new HashSet<long>(saved.Open);
        AuditLog.ReplayOpenIntents(open, AuditStore.StreamRecords(connection, transaction, saved.ThroughSequence), before);

        AuditStore.SaveOpenIntents(connection, transaction, before, open);
    }
}
