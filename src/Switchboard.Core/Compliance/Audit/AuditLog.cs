using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Security;

namespace Switchboard.Compliance.Audit;

/// <summary>The audit log could not durably write a record; a fail-closed call must not run.</summary>
public sealed class AuditUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An inclusion proof of one record against a signed checkpoint.</summary>
public sealed record AuditProof(StoredAuditRecord Record, long TreeSize, byte[] RootHash, IReadOnlyList<byte[]> Path, StoredCheckpoint Checkpoint);

/// <summary>
/// The append-only audit log with group commit. One writer thread owns the database connection: it takes every record
/// waiting in its queue (up to <see cref="AuditOptions.MaxBatchSize"/>), gives them consecutive sequence numbers, hashes
/// them (RFC 6962 leaf hash and a SHA-256 hash chain) and commits them in one transaction, so many concurrent callers
/// share one fsync. <see cref="AppendAsync"/> returns only once the record is on disk (<c>synchronous=FULL</c>), or, with
/// <see cref="AuditOptions.SurvivesPowerLoss"/> off, once it is in the operating system (<c>synchronous=NORMAL</c>).
/// </summary>
/// <remarks>
/// The writer is a dedicated thread with synchronous SQLite calls, not a thread-pool task: every call waits for it twice
/// (intent and outcome), and a pool task's wake-up after each batch queued behind the request work of every connection
/// (and its blocking fsync held a pool thread). A blocked thread is woken by the kernel directly.
/// </remarks>
public sealed partial class AuditLog : IAsyncDisposable
{
    private readonly AuditOptions _options;
    private readonly SigningKeyRing _ring;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<AuditLog> _logger;
    private readonly BlockingCollection<WorkItem> _queue = new(new ConcurrentQueue<WorkItem>());
    private readonly TaskCompletionSource _writerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly AuditExport _export;

    // Owned by the writer thread (and by StartAsync before it runs): the tree's frontier, the calls whose intent has no
    // outcome record since the last start record, and whether a failed batch left them to be read again from the store.
    private readonly HashSet<long> _openIntents = [];
    private readonly List<AuditTile> _completedTiles = [];
    private AuditTreeFrontier _tree = AuditTreeFrontier.Empty();
    private bool _derivedStateStale;
    private SqliteConnection? _connection;
    private Thread? _writer;
    private int _disposed;
    private byte[] _chainHead = new byte[32];
    private long _nextSequence;
    private long _size;
    private StoredCheckpoint? _latestCheckpoint;

    public AuditLog(IOptions<ComplianceOptions> options, IOptions<SwitchboardOptions> switchboard, SigningKeyRing ring, TimeProvider timeProvider, ILogger<AuditLog> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(switchboard);
        _options = options.Value.Audit;
        _ring = ring;
        _timeProvider = timeProvider;
        _logger = logger;
        Store = new AuditStore(Path.Combine(switchboard.Value.DataDirectory, _options.FileName), _options.SurvivesPowerLoss);
        _export = new AuditExport(Path.GetFullPath(Path.Combine(switchboard.Value.DataDirectory, _options.ExportDirectory)), logger);
    }

    public bool Enabled => _options.Enabled;

    public bool FailClosed => _options.FailClosed;

    public AuditStore Store { get; }

    /// <summary>Where checkpoints and their keys are copied.</summary>
    public string ExportDirectory => _export.Directory;

    /// <summary>Records durably written so far.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>The saved set of open intents is rewritten at least once per this many records (and at every start and stop).</summary>
    internal const int OpenIntentsSaveInterval = 1 << 16;

    /// <summary>
    /// Opens the database, closes the previous run (an <c>call.incomplete</c> record for every intent whose outcome was
    /// never written, then a <c>start</c> record), and starts the writer. Its cost does not grow with the log: the tree's
    /// frontier is a few hundred stored hashes, and the open intents are saved at every start, every stop and every
    /// <see cref="OpenIntentsSaveInterval"/> records, so only the records after the last save are read.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await Store.OpenAsync(create: true, _options.WriteTimeout, cancellationToken);
        _export.LoadFiles();
        long previousSize;
        List<long> incomplete;
        await using (var transaction = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken))
        {
            var built = LoadDerivedState(transaction);

            // One checkpoint is signed a minute (Audit:CheckpointInterval), half a million a year: only the newest is read,
            // in the same transaction, so it covers no record this start has not seen.
            _latestCheckpoint = await AuditStore.ReadLatestCheckpointAsync(_connection, cancellationToken, transaction);
            _export.QueueUnexported(_connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            previousSize = _nextSequence;
            if (built > 0)
            {
                Log.TreeBuilt(_logger, built, previousSize);
            }

            incomplete = [.. _openIntents.Order()];
        }

        _writer = new Thread(RunWriter) { IsBackground = true, Name = "audit-writer" };
        _writer.Start();
        var now = Now();
        foreach (var intent in incomplete)
        {
            await AppendAsync(new JsonObject { ["kind"] = "call.incomplete", ["time"] = now, ["intent"] = intent, ["reason"] = "the server stopped before the outcome of this call was recorded" }, cancellationToken);
        }

        await AppendAsync(new JsonObject { ["kind"] = "start", ["time"] = now, ["previousSize"] = previousSize, ["incomplete"] = incomplete.Count }, cancellationToken);
        Log.Opened(_logger, Store.FilePath, previousSize, incomplete.Count);
    }

    /// <summary>Appends a record (sequence number added here) and returns its sequence number once it is on disk.</summary>
    public async Task<long> AppendAsync(JsonObject record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var item = new AppendItem(record);
        if (_writer is null || !TryEnqueue(item))
        {
            throw new AuditUnavailableException("The audit log is not open.");
        }

        try
        {
            return await item.Completion.Task.WaitAsync(_options.WriteTimeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new AuditUnavailableException("The audit log did not confirm the write in time.", ex);
        }
    }

    /// <summary>Writes a signed checkpoint of the log as it is now; null when the key ring has no active key.</summary>
    public async Task<StoredCheckpoint?> CheckpointAsync(CancellationToken cancellationToken)
    {
        var item = new CheckpointItem();
        if (_writer is null || !TryEnqueue(item))
        {
            return null;
        }

        return await item.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The inclusion proof of record <paramref name="sequence"/> against the latest checkpoint that covers it (writing a
    /// new checkpoint when none does yet); null when there is no such record.
    /// </summary>
    public async Task<AuditProof?> GetProofAsync(long sequence, CancellationToken cancellationToken)
    {
        if (sequence < 0 || sequence >= Size)
        {
            return null;
        }

        var checkpoint = _latestCheckpoint;
        if (checkpoint is null || checkpoint.TreeSize <= sequence)
        {
            checkpoint = await CheckpointAsync(cancellationToken);
            if (checkpoint is null)
            {
                return null;
            }
        }

        // The path is read from the store (at most 128 hashes per subtree on it), on a connection of its own: the writer is
        // never held up, whatever the size of the log.
        await using var connection = await Store.OpenAsync(create: false, _options.WriteTimeout, cancellationToken);
        var record = await AuditStore.ReadRecordAsync(connection, sequence, cancellationToken);
        if (record is null)
        {
            // Pruned into an archive (`audit prune`): its proof is built from the archive and the kept tiles, not here.
            return null;
        }

        var path = MerkleTree.InclusionProof((start, height) => AuditTreeFrontier.ReadPerfectSubtree(connection, start, height), sequence, checkpoint.TreeSize);
        return new AuditProof(record, checkpoint.TreeSize, checkpoint.RootHash, path, checkpoint);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.CompleteAdding();
        if (_writer is not null)
        {
            await _writerStopped.Task;
        }

        _queue.Dispose();

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    /// <summary>The record time format: UTC, milliseconds.</summary>
    public string Now() => _timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>False once the log is closing (a record queued after that would never be written).</summary>
    private bool TryEnqueue(WorkItem item)
    {
        try
        {
            return _queue.TryAdd(item);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void RunWriter()
    {
        try
        {
            var batch = new List<AppendItem>(_options.MaxBatchSize);
            foreach (var first in _queue.GetConsumingEnumerable())
            {
                var item = first;
                while (true)
                {
                    if (item is AppendItem append)
                    {
                        batch.Add(append);
                    }
                    else
                    {
                        // A checkpoint covers everything queued before it.
                        Commit(batch);
                        batch.Clear();
                        WriteCheckpoint((CheckpointItem)item);
                    }

                    if (batch.Count >= _options.MaxBatchSize || !_queue.TryTake(out item!))
                    {
                        break;
                    }
                }

                Commit(batch);
                batch.Clear();
            }

            SaveOpenIntentsAtStop();
        }
        finally
        {
            _writerStopped.TrySetResult();
        }
    }

    private void Commit(List<AppendItem> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // The write transaction (BEGIN IMMEDIATE) holds the file's write lock, so catching up on records other processes
        // sharing this data folder appended, numbering, and inserting happen as one step: one shared, gap-free log.
        SqliteTransaction? transaction = null;
        var rows = new List<StoredAuditRecord>(batch.Count);
        var accepted = new List<AppendItem>(batch.Count);
        byte[] chain;
        long sequence;
        var saveOpenIntents = false;
        try
        {
            transaction = _connection!.BeginTransaction();
            CatchUp(transaction);
            sequence = _nextSequence;
            chain = _chainHead;
            _completedTiles.Clear();
            foreach (var item in batch)
            {
                try
                {
                    item.Record["seq"] = sequence;
                    var bytes = CanonicalJson.Serialize(item.Record);
                    var leaf = MerkleTree.LeafHash(bytes);
                    chain = ChainHash(chain, leaf);
                    rows.Add(new StoredAuditRecord(sequence, Encoding.UTF8.GetString(bytes), leaf, chain));
                    accepted.Add(item);
                    _tree.Append(leaf, _completedTiles);
                    var kind = item.Record["kind"] is JsonValue kindValue && kindValue.TryGetValue<string>(out var text) ? text : null;
                    TrackOpenIntent(sequence, kind, item.Record["intent"] is JsonValue intentValue && intentValue.TryGetValue<long>(out var intent) ? intent : null);
                    saveOpenIntents |= kind == "start" || sequence % OpenIntentsSaveInterval == 0;
                    sequence++;
                }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException)
                {
                    item.Completion.TrySetException(new AuditUnavailableException("The audit record could not be serialised.", ex));
                }
            }

            AuditStore.InsertRecords(_connection, transaction, rows);
            AuditStore.InsertTiles(_connection, transaction, _completedTiles);
            if (saveOpenIntents)
            {
                AuditStore.SaveOpenIntents(_connection, transaction, sequence, _openIntents);
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the writer thread lives on: this batch is refused (the transaction rolls back) and the
            // next one tries again, after reading the tree and the open intents back from what the store holds.
            _derivedStateStale = true;
            Log.WriteFailed(_logger, batch.Count, ex.GetType().Name, ex.Message);
            foreach (var item in batch)
            {
                item.Completion.TrySetException(new AuditUnavailableException("The audit log could not be written.", ex));
            }

            return;
        }
        finally
        {
            transaction?.Dispose();
        }

        _chainHead = chain;
        _nextSequence = sequence;
        Volatile.Write(ref _size, sequence);

        for (var i = 0; i < accepted.Count; i++)
        {
            accepted[i].Completion.TrySetResult(rows[i].Sequence);
        }
    }

    /// <summary>
    /// Takes in records another process appended since this one last wrote (inside the caller's write transaction): their
    /// chain head, their open intents, and the tree, whose tiles an older version sharing the folder may not have written.
    /// </summary>
    private void CatchUp(SqliteTransaction transaction)
    {
        if (_derivedStateStale)
        {
            LoadDerivedState(transaction);
            return;
        }

        var caughtUp = false;
        foreach (var row in AuditStore.StreamRecords(_connection!, transaction, _nextSequence))
        {
            var (kind, intent) = KindAndIntent(row.Record);
            TrackOpenIntent(row.Sequence, kind, intent);
            _chainHead = row.ChainHash;
            _nextSequence = row.Sequence + 1;
            caughtUp = true;
        }

        if (caughtUp)
        {
            AuditTreeFrontier.Backfill(_connection!, transaction, _nextSequence);
            _tree = AuditTreeFrontier.Load(_connection!, transaction, _nextSequence);
            Volatile.Write(ref _size, _nextSequence);
        }
    }

    /// <summary>
    /// Reads the writer's state back from the store, inside a write transaction: the end of the log and its chain head, the
    /// tree (storing any tile it lacks, then its frontier) and the open intents (the saved set, then the records after it).
    /// At start, and before the next write after any transaction that failed (its rollback may have taken tiles with it).
    /// Returns how many tiles it had to store.
    /// </summary>
    private long LoadDerivedState(SqliteTransaction transaction)
    {
        _derivedStateStale = true;
        var (last, chain) = AuditStore.ReadLast(_connection!, transaction);
        var size = (last ?? -1) + 1;
        if (last is null && AuditStore.ReadPruned(_connection!, transaction) is { } pruned)
        {
            // Every record pruned (prune refuses that, a hand edit could do it): the log goes on from the prune, not from zero.
            (size, chain) = (pruned.Before, pruned.ChainHash);
        }

        _chainHead = chain ?? new byte[32];
        _nextSequence = size;
        Volatile.Write(ref _size, size);
        AuditStore.DeleteTilesBeyond(_connection!, transaction, size);
        var built = AuditTreeFrontier.Backfill(_connection!, transaction, size, findHoles: true);
        _tree = AuditTreeFrontier.Load(_connection!, transaction, size);
        _openIntents.Clear();
        if (AuditStore.ReadOpenIntents(_connection!, transaction) is { } saved && saved.ThroughSequence <= size)
        {
            _openIntents.UnionWith(saved.Open);
            ReplayOpenIntents(_openIntents, AuditStore.StreamRecords(_connection!, transaction, saved.ThroughSequence));
        }
        else
        {
            // A log from before the saved set: back from the end to the last start record, as versions before did.
            var completed = new HashSet<long>();
            foreach (var row in AuditStore.StreamRecords(_connection!, transaction, 0, descending: true))
            {
                var (kind, intent) = KindAndIntent(row.Record);
                if (kind == "start")
                {
                    break;
                }

                if (kind == "call.intent")
                {
                    _openIntents.Add(row.Sequence);
                }
                else if (intent is { } referenced)
                {
                    completed.Add(referenced);
                }
            }

            _openIntents.ExceptWith(completed);
        }

        _derivedStateStale = false;
        return built;
    }

    /// <summary>
    /// The top-level <c>kind</c> and <c>intent</c> of a stored record, read without building the document: a start after an
    /// upgrade or a crash reads many records (about 3 µs each parsed whole; this skips the nested arguments and results).
    /// </summary>
    internal static (string? Kind, long? Intent) KindAndIntent(string recordText)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(recordText.Length));
        try
        {
            var reader = new Utf8JsonReader(bytes.AsSpan(0, Encoding.UTF8.GetBytes(recordText, bytes)));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, null);
            }

            string? kind = null;
            long? intent = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isKind = reader.ValueTextEquals("kind"u8);
                var isIntent = !isKind && reader.ValueTextEquals("intent"u8);
                reader.Read();
                if (isKind && reader.TokenType == JsonTokenType.String)
                {
                    kind = reader.GetString();
                }
                else if (isIntent && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var referenced))
                {
                    intent = referenced;
                }
                else
                {
                    reader.Skip();
                }
            }

            return (kind, intent);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or a name or value no record of ours holds (a lone surrogate escape): not an intent or an outcome.
            return (null, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private void TrackOpenIntent(long sequence, string? kind, long? intent) => TrackOpenIntent(_openIntents, sequence, kind, intent);

    /// <summary>Applies stored records, in order, up to (not including) <paramref name="until"/>, to a set of open intents.</summary>
    internal static void ReplayOpenIntents(HashSet<long> open, IEnumerable<StoredAuditRecord> rows, long until = long.MaxValue)
    {
        foreach (var row in rows)
        {
            if (row.Sequence >= until)
            {
                break;
            }

            var (kind, intent) = KindAndIntent(row.Record);
            TrackOpenIntent(open, row.Sequence, kind, intent);
        }
    }

    /// <summary>A start record closes the previous run (its open intents were just marked incomplete); an outcome closes its intent.</summary>
    internal static void TrackOpenIntent(HashSet<long> open, long sequence, string? kind, long? intent)
    {
        if (kind == "start")
        {
            open.Clear();
        }
        else if (kind == "call.intent")
        {
            open.Add(sequence);
        }
        else if (intent is { } referenced)
        {
            open.Remove(referenced);
        }
    }

    /// <summary>At a clean stop the next start reads no record to learn which calls never finished.</summary>
    private void SaveOpenIntentsAtStop()
    {
        try
        {
            using var transaction = _connection!.BeginTransaction();
            CatchUp(transaction);
            AuditStore.SaveOpenIntents(_connection, transaction, _nextSequence, _openIntents);
            transaction.Commit();
        }
        catch (Exception ex)
        {
            _derivedStateStale = true;

            // Nothing may escape the writer thread. The next start reads the records after the last save instead.
            Log.OpenIntentsNotSaved(_logger, ex.GetType().Name, ex.Message);
        }
    }

    private void WriteCheckpoint(CheckpointItem item)
    {
        try
        {
            var credentials = _ring.GetSigningCredentials();
            var key = credentials is null ? null : _ring.State.Keys.FirstOrDefault(k => k.Kid == credentials.Key.KeyId);
            if (credentials is null || key is null)
            {
                Log.NoSigningKey(_logger);
                item.Completion.TrySetResult(null);
                return;
            }

            using var transaction = _connection!.BeginTransaction();
            CatchUp(transaction);
            byte[] root;
            long size;
            byte[] chain;
            root = _tree.Root();
            size = _tree.Size;
            chain = _chainHead;

            var checkpoint = AuditCheckpoints.Sign(size, root, chain, _timeProvider.GetUtcNow(), credentials, key.PublicJwk);
            AuditStore.InsertCheckpoint(_connection, transaction, checkpoint);
            transaction.Commit();
            _latestCheckpoint = checkpoint;
            _export.TryExport(checkpoint);
            item.Completion.TrySetResult(checkpoint);
        }
        catch (Exception ex)
        {
            _derivedStateStale = true;
            Log.CheckpointFailed(_logger, ex.GetType().Name, ex.Message);
            item.Completion.TrySetResult(null);
        }
    }

    internal static byte[] ChainHash(byte[] previous, byte[] leaf)
    {
        Span<byte> buffer = stackalloc byte[64];
        previous.CopyTo(buffer);
        leaf.CopyTo(buffer[32..]);
        return SHA256.HashData(buffer);
    }

    private abstract class WorkItem;

    private sealed class AppendItem(JsonObject record) : WorkItem
    {
        public JsonObject Record { get; } = record;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class CheckpointItem : WorkItem
    {
        public TaskCompletionSource<StoredCheckpoint?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, EventName = "AuditOpened", Level = LogLevel.Information, Message = "Audit: log {Path} opened with {Size} records; {Incomplete} call(s) of the previous run marked incomplete")]
        public static partial void Opened(ILogger logger, string path, long size, int incomplete);

        [LoggerMessage(EventId = 7002, EventName = "AuditWriteFailed", Level = LogLevel.Error, Message = "Audit: writing {Count} record(s) failed ({ExceptionType}: {Reason}); fail-closed calls are refused")]
        public static partial void WriteFailed(ILogger logger, int count, string exceptionType, string reason);

        [LoggerMessage(EventId = 7003, EventName = "AuditCheckpointFailed", Level = LogLevel.Warning, Message = "Audit: checkpoint failed ({ExceptionType}: {Reason})")]
        public static partial void CheckpointFailed(ILogger logger, string exceptionType, string reason);

        [LoggerMessage(EventId = 7004, EventName = "AuditNoSigningKey", Level = LogLevel.Warning, Message = "Audit: no active signing key; checkpoint skipped")]
        public static partial void NoSigningKey(ILogger logger);

        [LoggerMessage(EventId = 7007, EventName = "AuditOpenIntentsNotSaved", Level = LogLevel.Warning, Message = "Audit: the open intents were not saved at stop ({ExceptionType}: {Reason}); the next start reads the records since the last save")]
        public static partial void OpenIntentsNotSaved(ILogger logger, string exceptionType, string reason);

        [LoggerMessage(EventId = 7006, EventName = "AuditTreeBuilt", Level = LogLevel.Information, Message = "Audit: stored {Tiles} Merkle tree tiles for the {Size} records written before tiles existed (once)")]
        public static partial void TreeBuilt(ILogger logger, long tiles, long size);
    }
}
