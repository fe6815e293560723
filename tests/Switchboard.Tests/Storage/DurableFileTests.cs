using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Switchboard.Compliance.Audit;
using Switchboard.Storage;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Storage;

/// <summary>
/// Files outside the database that a power loss must not take away once they are relied on: the key-encryption key
/// (every signing key in the database is encrypted with it) and the audit archive (the records are deleted once it is
/// written). Their bytes and their names must reach the disk: the file and then its folder are fsynced. The system calls
/// are observed with <c>strace</c> on the real executable.
/// </summary>
public sealed partial class DurableFileTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void Replace_WritesTheNewContent_OverTheOld_AndLeavesNoTemporaryFile()
    {
        using var folder = new TemporaryDirectory();
        var path = Path.Combine(folder.Path, "keys.jwks");
        DurableFile.Replace(path, "old"u8);
        DurableFile.Replace(path, "new content"u8);

        Assert.Equal("new content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void SyncDirectory_OfAFolderThatDoesNotExist_IsAnIOException_NamingIt()
    {
        using var folder = new TemporaryDirectory();
        var missing = Path.Combine(folder.Path, "gone");

        var error = Assert.Throws<IOException>(() => DurableFile.SyncDirectory(missing));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        DurableFile.SyncDirectory(folder.Path);
    }

    [Fact]
    public async Task TheKeyEncryptionKey_OfAFreshFolder_IsFsynced_AndThenItsFolder()
    {
        using var data = new TemporaryDirectory();
        var folder = Path.Combine(data.Path, "fresh");
        var (exit, output, trace) = await TraceAsync(data, [], "keys", "list", "--data", folder);
        Assert.True(exit == 0, output);

        var keyFile = Path.Combine(folder, Switchboard.Security.KeyEncryptionKeyProvider.KeyFileName);
        Assert.True(File.Exists(keyFile), "the key file was not created where expected");
        var fileSync = SyncOf(trace, keyFile);
        var folderSync = Syncs(trace, folder).FirstOrDefault(i => i > fileSync, -1);
        Assert.True(fileSync >= 0, "the key file was not fsynced:\n" + string.Join('\n', trace));
        Assert.True(folderSync > fileSync, "the key file's folder was not fsynced after it:\n" + string.Join('\n', trace));
    }

    [Fact]
    public async Task AKeyEncryptionKeyTheDiskDidNotTake_StopsTheStart_WithTheReason()
    {
        using var data = new TemporaryDirectory();
        var folder = Path.Combine(data.Path, "fresh");
        var keyFile = Path.Combine(folder, Switchboard.Security.KeyEncryptionKeyProvider.KeyFileName);

        // The disk answers the key file's fsync with EIO (FileStream.Flush(true) would let that pass).
        var (exit, output, _) = await TraceAsync(data, ["-P", keyFile, "-e", "inject=fsync:error=EIO"], "keys", "list", "--data", folder);

        Assert.NotEqual(0, exit);
        Assert.Contains("Could not create the key-encryption key", output, StringComparison.Ordinal);
        Assert.Contains("Input/output error", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);

        // The next start finds the file the disk refused: it flushes it (and its folder) before encrypting with it.
        var (again, againOutput, trace) = await TraceAsync(data, [], "keys", "list", "--data", folder);
        Assert.True(again == 0, againOutput);
        var fileSync = SyncOf(trace, keyFile);
        Assert.True(fileSync >= 0, "the existing key file was not fsynced:\n" + string.Join('\n', trace));
        Assert.True(Syncs(trace, folder).Any(i => i > fileSync), "its folder was not fsynced after it:\n" + string.Join('\n', trace));
    }

    [Fact]
    public async Task TheAuditArchive_IsFsyncedWithItsFolder_BeforeTheRecordsAreDeleted()
    {
        using var data = new TemporaryDirectory();
        var (archiveFolder, archive) = await PrepareLogAsync(data);

        var (exit, output, trace) = await TraceAsync(data, [], "audit", "prune", "--data", data.Path, "--before", "512", "--archive", archive);
        Assert.True(exit == 0, output);

        var archiveSync = SyncOf(trace, archive);
        var folderSync = Syncs(trace, archiveFolder).FirstOrDefault(i => i > archiveSync, -1);
        var deleteCommit = Syncs(trace, Path.Combine(data.Path, "audit.db-wal")).FirstOrDefault(i => i > archiveSync, -1);
        Assert.True(archiveSync >= 0, "the archive was not fsynced:\n" + string.Join('\n', trace));
        Assert.True(folderSync > archiveSync, "the archive's folder was not fsynced after it:\n" + string.Join('\n', trace));
        Assert.True(deleteCommit > folderSync, "the delete was committed before the archive's folder was fsynced:\n" + string.Join('\n', trace));
    }

    [Fact]
    public async Task AnArchiveTheDiskDidNotTake_PrunesNothing_AndIsRemoved()
    {
        using var data = new TemporaryDirectory();
        var (_, archive) = await PrepareLogAsync(data);
        var before = (await AuditFiles.ReadRecordsAsync(new AuditStore(Path.Combine(data.Path, "audit.db")))).Count;

        var (exit, output, _) = await TraceAsync(data, ["-P", archive, "-e", "inject=fsync:error=EIO"], "audit", "prune", "--data", data.Path, "--before", "512", "--archive", archive);

        Assert.Equal(1, exit);
        Assert.Contains("not pruned:", output, StringComparison.Ordinal);
        Assert.Contains("Input/output error", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.False(File.Exists(archive), "an archive the disk did not take was left behind");
        Assert.Equal(before, (await AuditFiles.ReadRecordsAsync(new AuditStore(Path.Combine(data.Path, "audit.db")))).Count);
    }

    [Fact]
    public async Task APruneWhoseCommitTheDiskRefused_KeepsItsArchive_AndSaysTheOutcomeIsUnknown()
    {
        using var data = new TemporaryDirectory();
        var (_, archive) = await PrepareLogAsync(data);

        // The commit's WAL frames are written, their fsync fails: SQLite answers with an error, yet a later opening of
        // the database may apply them, so the archive may be the only copy of the records.
        var (exit, output, _) = await TraceAsync(data, ["-P", Path.Combine(data.Path, "audit.db-wal"), "-e", "inject=fsync:error=EIO"], "audit", "prune", "--data", data.Path, "--before", "512", "--archive", archive);

        Assert.Equal(3, exit);
        Assert.Contains("prune outcome unknown", output, StringComparison.Ordinal);
        Assert.Contains("may or may not have been deleted", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.Equal(512, (await File.ReadAllLinesAsync(archive, Token)).Length);
    }

    [Fact]
    public async Task TheExportedCheckpointsAndKeys_AreFsynced_AndTheirFolder()
    {
        using var data = new TemporaryDirectory();
        var export = Path.Combine(data.Path, "audit-export");
        var (exit, output, trace) = await TraceServeAsync(data, () => File.Exists(Path.Combine(export, "checkpoints.jsonl")) && File.ReadAllText(Path.Combine(export, "checkpoints.jsonl")).Contains('\n', StringComparison.Ordinal));
        Assert.True(exit == 0, output);

        var lines = string.Join('\n', trace);
        var checkpoints = SyncOf(trace, Path.Combine(export, "checkpoints.jsonl"));
        var keys = Array.FindIndex(trace, line => SyncCall().Match(line) is { Success: true } m && m.Groups["path"].Value.StartsWith(Path.Combine(export, "keys.jwks."), StringComparison.Ordinal));
        Assert.True(keys >= 0, "keys.jwks was not written through a fsynced temporary file:\n" + lines);
        Assert.True(checkpoints > keys, "checkpoints.jsonl was not fsynced after the key set:\n" + lines);
        Assert.True(Syncs(trace, export).Any(i => i > checkpoints), "the export folder was not fsynced after its files:\n" + lines);
        Assert.True(Syncs(trace, data.Path).Any(i => i < keys), "the data folder was not fsynced after the export folder appeared in it:\n" + lines);
        Assert.Empty(Directory.GetFiles(export, "*.tmp"));
    }

    [Fact]
    public async Task ExportsTheDiskRefused_AreCutBackAndRetried_AndTheNextRunExportsWhatWasLeft()
    {
        using var data = new TemporaryDirectory();
        var export = Path.Combine(data.Path, "audit-export");
        var exported = Path.Combine(export, "checkpoints.jsonl");

        // Every fsync of checkpoints.jsonl fails: each attempt writes its lines, fails, cuts them off again and keeps the
        // checkpoints for the next attempt (which used to write them all again, and again).
        await ServeWithFailingFsyncAsync(data, exported);
        Assert.Empty(File.Exists(exported) ? await File.ReadAllLinesAsync(exported, Token) : []);

        // The next run exports every stored checkpoint the last one could not, once each, in order, before its own.
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            Assert.NotNull(await log.CheckpointAsync(Token));
            await using var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
            var stored = (await AuditStore.ReadCheckpointsAsync(connection, null, Token)).Select(c => c.Jws).ToList();
            Assert.True(stored.Count >= 5, $"only {stored.Count} checkpoints were stored");
            var problems = new List<string>();
            Assert.Equal(stored, AuditVerifier.ReadExported(export, problems).Select(c => c.Jws));
            Assert.Empty(problems);
        }
    }

    [Fact]
    public async Task AFolderSyncTheDiskRefuses_DoesNotWriteDurableLinesAgain()
    {
        using var data = new TemporaryDirectory();
        var export = Path.Combine(data.Path, "audit-export");

        // The lines' own fsync succeeds, the export folder's fails every time (it is retried with each export).
        await ServeWithFailingFsyncAsync(data, export);

        var lines = await File.ReadAllLinesAsync(Path.Combine(export, "checkpoints.jsonl"), Token);
        Assert.True(lines.Length >= 3, $"only {lines.Length} lines");
        Assert.Equal(lines.Length, lines.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task AKeyFileOnAReadOnlyMount_IsFlushedThroughAReadOnlyHandle_AndTheStartGoesOn()
    {
        using var data = new TemporaryDirectory();
        var folder = Path.Combine(data.Path, "kek");
        var keyFile = Path.Combine(folder, Switchboard.Security.KeyEncryptionKeyProvider.KeyFileName);
        string[] issue = ["token", "issue", "--sub", "someone", "--scope", "tools:*", "--data", folder];
        var (first, firstOutput, _) = await TraceAsync(data, [], issue);
        Assert.True(first == 0, firstOutput);

        // Opening the existing key file for writing fails as on a read-only mount (EROFS; the third open of its path:
        // the create that finds it, the read, then the open for flushing). Issuing a token decrypts the signing key.
        var (exit, output, trace) = await TraceAsync(data, ["-P", keyFile, "-e", "trace=fsync,openat", "-e", "inject=openat:error=EROFS:when=3"], issue);

        Assert.True(exit == 0, output);
        Assert.Contains(trace, line => line.Contains("EROFS", StringComparison.Ordinal) && line.Contains("(INJECTED)", StringComparison.Ordinal));
        Assert.True(SyncOf(trace, keyFile) >= 0, "the key file was not flushed through a read-only handle:\n" + string.Join('\n', trace));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    public async Task ADamagedKeySet_StopsTheExport_NotTheCheckpoint_AndTheExportResumesOnceItIsRepaired(string damaged)
    {
        using var data = new TemporaryDirectory();
        var export = Path.Combine(data.Path, "audit-export");
        Directory.CreateDirectory(export);
        await File.WriteAllTextAsync(Path.Combine(export, "keys.jwks"), damaged, Token);
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();

        var held = await log.CheckpointAsync(Token);
        Assert.NotNull(held);
        Assert.False(File.Exists(Path.Combine(export, "checkpoints.jsonl")) && (await File.ReadAllLinesAsync(Path.Combine(export, "checkpoints.jsonl"), Token)).Length > 0);
        using (var http = server.CreateHttpClient())
        {
            // The stored checkpoint backs proofs although it is not exported.
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri($"/audit/proof/0", UriKind.Relative), Token)).StatusCode);
        }

        File.Delete(Path.Combine(export, "keys.jwks"));
        var next = await log.CheckpointAsync(Token);
        var problems = new List<string>();
        var lines = AuditVerifier.ReadExported(export, problems).Select(c => c.Jws).ToList();
        Assert.Empty(problems);
        Assert.Equal([held!.Jws, next!.Jws], lines.TakeLast(2));
        Assert.Contains(held.Kid, await File.ReadAllTextAsync(Path.Combine(export, "keys.jwks"), Token), StringComparison.Ordinal);
    }

    /// <summary>Serves for four seconds, signing a checkpoint a second, with every fsync of <paramref name="path"/>
    /// failing; checks the server stopped cleanly and logged exports it could not finish.</summary>
    private static async Task ServeWithFailingFsyncAsync(TemporaryDirectory data, string path)
    {
        var serving = Stopwatch.StartNew();
        var (exit, output, _) = await TraceServeAsync(
            data,
            () => serving.Elapsed > TimeSpan.FromSeconds(4),
            ["-P", path, "-e", "inject=fsync:error=EIO"],
            new Dictionary<string, string> { ["Switchboard__Compliance__Audit__CheckpointInterval"] = "00:00:01" });
        Assert.True(exit == 0, output);
        Assert.Contains("not exported yet", output, StringComparison.Ordinal);
    }

    private static async Task<(string Folder, string Archive)> PrepareLogAsync(TemporaryDirectory data)
    {
        var archiveFolder = Path.Combine(data.Path, "archives");
        Directory.CreateDirectory(archiveFolder);
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 600);
            Assert.NotNull(await log.CheckpointAsync(Token));
        }

        return (archiveFolder, Path.Combine(archiveFolder, "a.jsonl"));
    }

    private static string Strace()
    {
        var strace = new[] { "/usr/bin/strace", "/bin/strace" }.FirstOrDefault(File.Exists);
        if (strace is null)
        {
            Unavailable("strace is not installed (scripts/install-test-prereqs.sh installs it).");
        }

        return strace!;
    }

    private static void Unavailable(string message)
    {
        if (NodeTooling.IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
    }

    /// <summary>Runs the executable under <c>strace -f -y</c> (plus <paramref name="options"/>); returns its exit code,
    /// output and the trace's fsync lines.</summary>
    private static async Task<(int Exit, string Output, string[] Trace)> TraceAsync(TemporaryDirectory scratch, string[] options, params string[] arguments)
    {
        using var process = StartTraced(scratch, options, arguments, out var traceFile);
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var stderr = process.StandardError.ReadToEndAsync(Token);
        try
        {
            await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var output = await stdout + await stderr;
        return (process.ExitCode, output, Read(traceFile, output));
    }

    /// <summary>Runs <c>switchboard serve</c> under strace until <paramref name="done"/> holds, then stops it with SIGTERM.</summary>
    private static async Task<(int Exit, string Output, string[] Trace)> TraceServeAsync(TemporaryDirectory data, Func<bool> done, string[]? options = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = StartTraced(data, options ?? [], ["serve", "--no-auth", "--urls", "http://127.0.0.1:0", "--data", data.Path], out var traceFile, environment);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) { lines.Enqueue(line); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) { lines.Enqueue(line); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Stopped only once it serves: a SIGTERM during start-up ends it with a failed start instead of a clean stop.
            var waited = Stopwatch.StartNew();
            while ((!done() || !lines.Any(l => l.Contains("is serving MCP at", StringComparison.Ordinal))) && !process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50, Token);
            }

            // strace's child is the server: ask it to stop as an operator would.
            var server = Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d)).Where(n => n.All(char.IsAsciiDigit))
                .FirstOrDefault(pid => File.ReadAllText($"/proc/{pid}/stat").Split(' ')[3] == process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(server is not null, "the traced server did not start");
            _ = Kill(int.Parse(server!, System.Globalization.CultureInfo.InvariantCulture), 15);
            await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await process.WaitForExitAsync(Token);
        var output = string.Join('\n', lines);
        return (process.ExitCode, output, Read(traceFile, output));
    }

    private static Process StartTraced(TemporaryDirectory scratch, string[] options, string[] arguments, out string traceFile, IReadOnlyDictionary<string, string>? environment = null)
    {
        traceFile = Path.Combine(scratch.Path, $"strace-{Guid.NewGuid():N}.txt");
        var start = new ProcessStartInfo(Strace()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in (string[])["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", .. options, "-o", traceFile, SwitchboardProcess.ExecutablePath, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static string[] Read(string traceFile, string output)
    {
        if (!File.Exists(traceFile) && output.Contains("ptrace", StringComparison.Ordinal))
        {
            // A container without the ptrace capability: strace cannot run here.
            Unavailable("strace cannot trace processes here: " + output.Trim());
        }

        return File.ReadAllLines(traceFile);
    }

    /// <summary>The line index of the first fsync of <paramref name="path"/>, or -1.</summary>
    private static int SyncOf(string[] trace, string path) => Syncs(trace, path).DefaultIfEmpty(-1).First();

    /// <summary>With <c>-y</c> strace prints each descriptor with its path (<c>fsync(7&lt;/a/b&gt;)</c>); a call another
    /// thread interrupted ends with <c>&lt;unfinished ...&gt;</c> and resumes on a later line, so a call counts from the
    /// line where it starts.</summary>
    private static IEnumerable<int> Syncs(string[] trace, string path)
    {
        for (var i = 0; i < trace.Length; i++)
        {
            if (SyncCall().Match(trace[i]) is { Success: true } call && call.Groups["path"].Value == path)
            {
                yield return i;
            }
        }
    }

    [GeneratedRegex("""^\d+\s+f(?:data)?sync\(\d+<(?<path>[^>]*)>""")]
    private static partial Regex SyncCall();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
