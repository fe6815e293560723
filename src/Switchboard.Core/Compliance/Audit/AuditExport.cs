using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// Copies each signed checkpoint to <c>checkpoints.jsonl</c> and its key to <c>keys.jwks</c> in the export folder (put on
/// another volume or trust domain: an attacker who rewrites the database cannot rewrite these). Used only from the audit
/// writer's thread.
/// <list type="bullet">
/// <item>Each file is fsynced, and the folder once per process; <c>keys.jwks</c> is replaced whole.</item>
/// <item>Replicas sharing the data folder take turns through an exclusive lock on <c>.lock</c> (a <c>flock</c>), so no
/// line or key is lost to another replica's export; readers are not locked out.</item>
/// <item>A checkpoint is stored and signed whether or not its export succeeds. One that cannot be exported (the disk
/// refuses, the folder is not writable, the key set is damaged, another replica holds the lock) is logged
/// and exported with the next, in order; what a failed attempt wrote is cut off again, so a retry never duplicates
/// lines. At start, checkpoints stored after the last exported line (a previous run stopped with some unexported) are
/// queued too.</item>
/// </list>
/// </summary>
internal sealed partial class AuditExport(string directory, ILogger logger)
{
    /// <summary>Unexported checkpoints kept at most (about a week at one a minute); older ones are dropped with a log.</summary>
    internal const int MaxPending = 10_000;

    private readonly HashSet<string> _exportedKids = new(StringComparer.Ordinal);
    private readonly List<StoredCheckpoint> _pending = [];
    private bool _directorySynced;

    public string Directory { get; } = directory;

    private string CheckpointsPath => Path.Combine(Directory, "checkpoints.jsonl");

    private string KeysPath => Path.Combine(Directory, "keys.jwks");

    private HashSet<string> _recentlyExported = new(StringComparer.Ordinal);

    /// <summary>Reads which keys are exported and which checkpoints the file ends with (before the start's database
    /// transaction: no file I/O under its lock).</summary>
    public void LoadFiles()
    {
        try
        {
            if (File.Exists(KeysPath) && JsonNode.Parse(File.ReadAllText(KeysPath)) is JsonObject set && set["keys"] is JsonArray keys)
            {
                foreach (var key in keys)
                {
                    if (key is JsonObject jwk && jwk["kid"] is JsonValue kid && kid.TryGetValue<string>(out var value))
                    {
                        _exportedKids.Add(value);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next export reports it; the key is then added again if missing.
            Log.ExportFailed(logger, 0, 0, ex.GetType().Name, ex.Message);
        }

        _recentlyExported = ExportedTail();
    }

    /// <summary>Queues the stored checkpoints newer than the newest one the file ends with (replicas sharing the folder
    /// export in lock order, not id order: any line in the file's tail counts).</summary>
    public void QueueUnexported(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var missed = new List<StoredCheckpoint>();
        foreach (var checkpoint in AuditStore.ReadNewestCheckpoints(connection, transaction, MaxPending))
        {
            if (_recentlyExported.Contains(checkpoint.Jws))
            {
                break;
            }

            missed.Add(checkpoint);
        }

        if (missed.Count > 0)
        {
            missed.Reverse();
            _pending.AddRange(missed);
            Log.CatchingUp(logger, missed.Count);
        }
    }

    /// <summary>Exports the checkpoint, and any an earlier attempt missed, in order; never throws.</summary>
    public void TryExport(StoredCheckpoint checkpoint)
    {
        _pending.Add(checkpoint);
        try
        {
            Export(_pending);
            // The lines are durable: whatever fails from here on must not write them again.
            _pending.Clear();
            if (!_directorySynced)
            {
                Storage.DurableFile.SyncDirectory(Directory);
                _directorySynced = true;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (_pending.Count > MaxPending)
            {
                Log.Dropped(logger, _pending.Count - MaxPending);
                _pending.RemoveRange(0, _pending.Count - MaxPending);
            }

            Log.ExportFailed(logger, checkpoint.TreeSize, _pending.Count, ex.GetType().Name, ex.Message);
        }
    }

    private void Export(List<StoredCheckpoint> checkpoints)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory);
            Storage.DurableFile.SyncDirectory(Path.GetDirectoryName(Directory)!);
        }

        using var exportLock = Lock();
        foreach (var checkpoint in checkpoints)
        {
            if (!_exportedKids.Contains(checkpoint.Kid))
            {
                AddKey(checkpoint);
            }
        }

        using (var stream = new FileStream(CheckpointsPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            var end = stream.Seek(0, SeekOrigin.End);
            try
            {
                var text = new StringBuilder();
                if (end > 0 && !EndsWithNewline(stream, end))
                {
                    // A line an earlier process could not finish: keep it apart from the next.
                    text.Append('\n');
                }

                foreach (var checkpoint in checkpoints)
                {
                    text.Append(AuditCheckpoints.ToExportLine(checkpoint)).Append('\n');
                }

                stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
                stream.Flush();
                Storage.DurableFile.SyncFile(stream.SafeFileHandle, CheckpointsPath);
            }
            catch
            {
                // The lines are written again next time: cut off what this attempt wrote (best effort).
                try
                {
                    stream.SetLength(end);
                }
                catch (Exception cut) when (cut is IOException or UnauthorizedAccessException)
                {
                    // The original error is the one to report.
                }

                throw;
            }
        }

    }

    private void AddKey(StoredCheckpoint checkpoint)
    {
        JsonObject set;
        if (File.Exists(KeysPath))
        {
            set = JsonNode.Parse(File.ReadAllText(KeysPath)) is JsonObject existing && existing["keys"] is JsonArray
                ? existing
                : throw new InvalidDataException($"{KeysPath} is not a JWK set; checkpoints are not exported until it is repaired.");
        }
        else
        {
            set = new JsonObject { ["keys"] = new JsonArray() };
        }

        var keys = (JsonArray)set["keys"]!;
        if (!keys.Any(k => k is JsonObject jwk && jwk["kid"] is JsonValue kid && kid.TryGetValue<string>(out var value) && value == checkpoint.Kid))
        {
            keys.Add(JsonNode.Parse(checkpoint.PublicJwk));
            Storage.DurableFile.Replace(KeysPath, Encoding.UTF8.GetBytes(set.ToJsonString()));
        }

        _exportedKids.Add(checkpoint.Kid);
    }

    /// <summary>The export folder's lock (an exclusive open: <c>flock</c> on Unix), tried once: while another replica
    /// holds it, this export is deferred to the next checkpoint (<see cref="TryExport"/>), so the writer never waits.</summary>
    private FileStream Lock()
        => new(Path.Combine(Directory, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

    private static bool EndsWithNewline(FileStream stream, long end)
    {
        stream.Seek(end - 1, SeekOrigin.Begin);
        var last = stream.ReadByte();
        stream.Seek(end, SeekOrigin.Begin);
        return last == '\n';
    }

    /// <summary>The JWS of the complete lines in the last 64 KiB of <c>checkpoints.jsonl</c> (about 70 checkpoints).</summary>
    private HashSet<string> ExportedTail()
    {
        var tail = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (!File.Exists(CheckpointsPath))
            {
                return tail;
            }

            using var stream = new FileStream(CheckpointsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = Math.Min(stream.Length, 64 * 1024);
            stream.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            stream.ReadExactly(buffer);
            foreach (var line in Encoding.UTF8.GetString(buffer).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (AuditCheckpoints.FromExportLine(line) is { } checkpoint)
                {
                    tail.Add(checkpoint.Jws);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable: every stored checkpoint (up to the limit) is queued; duplicates are harmless to verification.
        }

        return tail;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7008, EventName = "AuditExportFailed", Level = LogLevel.Warning, Message = "Audit: the checkpoint at tree size {TreeSize} is stored and signed but not exported yet ({Pending} waiting; {ExceptionType}: {Reason}); the next checkpoint exports them")]
        public static partial void ExportFailed(ILogger logger, long treeSize, int pending, string exceptionType, string reason);

        [LoggerMessage(EventId = 7012, EventName = "AuditExportDropped", Level = LogLevel.Error, Message = "Audit: {Count} stored checkpoint(s) could not be exported for too long and are no longer retried; they remain in the database")]
        public static partial void Dropped(ILogger logger, int count);

        [LoggerMessage(EventId = 7009, EventName = "AuditExportCatchingUp", Level = LogLevel.Information, Message = "Audit: {Count} stored checkpoint(s) were not exported by the previous run; the next checkpoint exports them")]
        public static partial void CatchingUp(ILogger logger, int count);
    }
}
