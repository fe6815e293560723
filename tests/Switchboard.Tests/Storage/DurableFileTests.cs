using System.Diagnostics;
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
        var (exit, output, trace) = await TraceAsync(data, "keys", "list", "--data", folder);
        Assert.True(exit == 0, output);

        var keyFile = Path.Combine(folder, Switchboard.Security.KeyEncryptionKeyProvider.KeyFileName);
        Assert.True(File.Exists(keyFile), "the key file was not created where expected");
        var fileSync = SyncOf(trace, keyFile);
        var folderSync = Syncs(trace, folder).FirstOrDefault(i => i > fileSync, -1);
        Assert.True(fileSync >= 0, "the key file was not fsynced:\n" + string.Join('\n', trace));
        Assert.True(folderSync > fileSync, "the key file's folder was not fsynced after it:\n" + string.Join('\n', trace));
    }

    [Fact]
    public async Task TheAuditArchive_IsFsyncedWithItsFolder_BeforeTheRecordsAreDeleted()
    {
        using var data = new TemporaryDirectory();
        var archiveFolder = Path.Combine(data.Path, "archives");
        Directory.CreateDirectory(archiveFolder);
        var archive = Path.Combine(archiveFolder, "a.jsonl");
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 600);
            Assert.NotNull(await log.CheckpointAsync(Token));
        }

        var (exit, output, trace) = await TraceAsync(data, "audit", "prune", "--data", data.Path, "--before", "512", "--archive", archive);
        Assert.True(exit == 0, output);

        var archiveSync = SyncOf(trace, archive);
        var folderSync = Syncs(trace, archiveFolder).FirstOrDefault(i => i > archiveSync, -1);
        var lastDatabaseSync = LastSyncOf(trace, Path.Combine(data.Path, "audit.db-wal"));
        Assert.True(archiveSync >= 0, "the archive was not fsynced:\n" + string.Join('\n', trace));
        Assert.True(folderSync > archiveSync, "the archive's folder was not fsynced after it:\n" + string.Join('\n', trace));
        Assert.True(lastDatabaseSync > folderSync, "the delete was committed before the archive's folder was fsynced:\n" + string.Join('\n', trace));
    }

    /// <summary>Runs the executable under <c>strace -f</c>; returns the trace's lines (its fsync calls).</summary>
    private static async Task<(int Exit, string Output, string[] Trace)> TraceAsync(TemporaryDirectory scratch, params string[] arguments)
    {
        var strace = new[] { "/usr/bin/strace", "/bin/strace" }.FirstOrDefault(File.Exists);
        if (strace is null)
        {
            const string message = "strace is not installed (scripts/install-test-prereqs.sh installs it).";
            if (NodeTooling.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var traceFile = Path.Combine(scratch.Path, "strace.txt");
        var start = new ProcessStartInfo(strace) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", traceFile, SwitchboardProcess.ExecutablePath, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var stderr = process.StandardError.ReadToEndAsync(Token);
        await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        return (process.ExitCode, await stdout + await stderr, await File.ReadAllLinesAsync(traceFile, Token));
    }

    /// <summary>The line index of the first fsync of <paramref name="path"/>, or -1.</summary>
    private static int SyncOf(string[] trace, string path) => Syncs(trace, path).DefaultIfEmpty(-1).First();

    private static int LastSyncOf(string[] trace, string path) => Syncs(trace, path).DefaultIfEmpty(-1).Last();

    /// <summary>With <c>-y</c> strace prints each descriptor with its path (<c>fsync(7&lt;/a/b&gt;)</c>); a call another
    /// thread interrupted continues on a later "resumed" line, so a call counts from the line where it starts.</summary>
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

    [GeneratedRegex("""^\d+\s+f(?:data)?sync\(\d+<(?<path>[^>]*)>\)""")]
    private static partial Regex SyncCall();
}
