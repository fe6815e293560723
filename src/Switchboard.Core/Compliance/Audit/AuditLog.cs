using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
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
    private readonly Lock _stateLock = new();
    private readonly List<byte[]> _leaves = [];
    private readonly MerkleAccumulator _accumulator = new();
    private readonly HashSet<string> _exportedKids = new(StringComparer.Ordinal);
    private SqliteConnection? _connection;
    private Thread? _writer;
    private int _disposed;
    private byte[] _chainHead = new byte[32];
    private long _nextSequence;
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
        ExportDirectory = Path.GetFullPath(Path.Combine(switchboard.Value.DataDirectory, _options.ExportDirectory));
    }

    public bool Enabled => _options.Enabled;

    public bool FailClosed => _options.FailClosed;

    public AuditStore Store { get; }

    /// <summary>Where checkpoints and their keys are copied.</summary>
    public string ExportDirectory { get; }

    /// <summary>Records durably written so far.</summary>
    public long Size
    {
        get
        {
            lock (_stateLock)
            {
                return _leaves.Count;
            }
        }
    }

    /// <summary>
    /// Opens the database, closes the previous run (an <c>call.incomplete</c> record for every intent whose outcome was
    /// never written, then a <c>start</c> record), and starts the writer.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await Store.OpenAsync(create: true, _options.WriteTimeout, cancellationToken);
        var (leaves, chain, last) = await AuditStore.LoadHashesAsync(_connection, cancellationToken);
        _leaves.AddRange(leaves);
        foreach (var leaf in leaves)
        {
            _accumulator.Append(leaf);
        }

        _chainHead = chain ?? new byte[32];
        _nextSequence = (last ?? -1) + 1;
        if (last is { } lastSequence && lastSequence != leaves.Count - 1)
        {
            Log.SequenceGap(_logger, leaves.Count, lastSequence);
        }

        var checkpoints = await AuditStore.ReadCheckpointsAsync(_connection, cancellationToken);
        _latestCheckpoint = checkpoints.Count > 0 ? checkpoints[^1] : null;
        LoadExportedKids();
        var incomplete = await FindIncompleteIntentsAsync(_connection, cancellationToken);

        _writer = new Thread(RunWriter) { IsBackground = true, Name = "audit-writer" };
        _writer.Start();
        var now = Now();
        foreach (var intent in incomplete)
        {
            await AppendAsync(new JsonObject { ["kind"] = "call.incomplete", ["time"] = now, ["intent"] = intent, ["reason"] = "the server stopped before the outcome of this call was recorded" }, cancellationToken);
        }

        await AppendAsync(new JsonObject { ["kind"] = "start", ["time"] = now, ["previousSize"] = leaves.Count, ["incomplete"] = incomplete.Count }, cancellationToken);
        Log.Opened(_logger, Store.FilePath, leaves.Count, incomplete.Count);
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

        List<byte[]> path;
        lock (_stateLock)
        {
            path = MerkleTree.InclusionProof(_leaves, sequence, checkpoint.TreeSize);
        }

        await using var connection = await Store.OpenAsync(create: false, _options.WriteTimeout, cancellationToken);
        var record = await AuditStore.ReadRecordAsync(connection, sequence, cancellationToken);
        return record is null ? null : new AuditProof(record, checkpoint.TreeSize, checkpoint.RootHash, path, checkpoint);
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
        try
        {
            transaction = _connection!.BeginTransaction();
            CatchUp(transaction);
            sequence = _nextSequence;
            chain = _chainHead;
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
                    sequence++;
                }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException)
                {
                    item.Completion.TrySetException(new AuditUnavailableException("The audit record could not be serialised.", ex));
                }
            }

            AuditStore.InsertRecords(_connection, transaction, rows);
            transaction.Commit();
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the writer thread lives on: this batch is refused (the transaction rolls back) and the
            // next one tries again.
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

        lock (_stateLock)
        {
            foreach (var row in rows)
            {
                _leaves.Add(row.LeafHash);
                _accumulator.Append(row.LeafHash);
            }

            _chainHead = chain;
            _nextSequence = sequence;
        }

        for (var i = 0; i < accepted.Count; i++)
        {
            accepted[i].Completion.TrySetResult(rows[i].Sequence);
        }
    }

    /// <summary>Adds records another process appended since this one last wrote (inside the caller's write transaction).</summary>
    private void CatchUp(SqliteTransaction transaction)
    {
        using var command = _connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, leaf_hash, chain_hash FROM audit_log WHERE seq >= $from ORDER BY seq;";
        command.Parameters.AddWithValue("$from", _nextSequence);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var seq = reader.GetInt64(0);
            var leaf = (byte[])reader[1];
            var chain = (byte[])reader[2];
            lock (_stateLock)
            {
                _leaves.Add(leaf);
                _accumulator.Append(leaf);
                _chainHead = chain;
                _nextSequence = seq + 1;
            }
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
            lock (_stateLock)
            {
                root = _accumulator.Root();
                size = _leaves.Count;
                chain = _chainHead;
            }

            var checkpoint = AuditCheckpoints.Sign(size, root, chain, _timeProvider.GetUtcNow(), credentials, key.PublicJwk);
            AuditStore.InsertCheckpoint(_connection, transaction, checkpoint);
            transaction.Commit();
            Export(checkpoint);
            _latestCheckpoint = checkpoint;
            item.Completion.TrySetResult(checkpoint);
        }
        catch (Exception ex)
        {
            Log.CheckpointFailed(_logger, ex.GetType().Name, ex.Message);
            item.Completion.TrySetResult(null);
        }
    }

    /// <summary>Appends the checkpoint to <c>checkpoints.jsonl</c> (fsynced) and adds its key to <c>keys.jwks</c> once.</summary>
    private void Export(StoredCheckpoint checkpoint)
    {
        Directory.CreateDirectory(ExportDirectory);
        if (_exportedKids.Add(checkpoint.Kid))
        {
            var path = Path.Combine(ExportDirectory, "keys.jwks");
            var set = File.Exists(path) && JsonNode.Parse(File.ReadAllText(path)) is JsonObject existing ? existing : new JsonObject { ["keys"] = new JsonArray() };
            ((JsonArray)set["keys"]!).Add(JsonNode.Parse(checkpoint.PublicJwk));
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, set.ToJsonString());
            File.Move(temporary, path, overwrite: true);
        }

        using var stream = new FileStream(Path.Combine(ExportDirectory, "checkpoints.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Encoding.UTF8.GetBytes(AuditCheckpoints.ToExportLine(checkpoint) + "\n"));
        stream.Flush(flushToDisk: true);
    }

    private void LoadExportedKids()
    {
        var path = Path.Combine(ExportDirectory, "keys.jwks");
        if (File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["keys"] is JsonArray keys)
        {
            foreach (var key in keys)
            {
                if (key?["kid"]?.GetValue<string>() is { } kid)
                {
                    _exportedKids.Add(kid);
                }
            }
        }
    }

    /// <summary>Intents written since the last start record that have no outcome record.</summary>
    private static async Task<List<long>> FindIncompleteIntentsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var intents = new List<long>();
        var completed = new HashSet<long>();
        await foreach (var row in AuditStore.ReadRecordsAsync(connection, 0, cancellationToken, descending: true))
        {
            JsonObject? record;
            try
            {
                record = JsonNode.Parse(row.Record) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                continue;
            }

            var kind = record?["kind"]?.GetValue<string>();
            if (kind == "start")
            {
                break;
            }

            if (kind == "call.intent")
            {
                intents.Add(row.Sequence);
            }
            else if (record?["intent"] is JsonValue intent && intent.TryGetValue<long>(out var referenced))
            {
                completed.Add(referenced);
            }
        }

        intents.RemoveAll(completed.Contains);
        intents.Sort();
        return intents;
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

        [LoggerMessage(EventId = 7005, EventName = "AuditSequenceGap", Level = LogLevel.Warning, Message = "Audit: the log has {Count} records but its last sequence number is {Last}; run `switchboard audit verify`")]
        public static partial void SequenceGap(ILogger logger, long count, long last);
    }
}
