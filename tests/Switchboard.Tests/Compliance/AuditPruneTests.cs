using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Switchboard.Compliance.Audit;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// <c>switchboard audit prune</c>: the oldest records move into an archive that holds them exactly as hashed, the log
/// stays verifiable (chain from the last pruned hash, tree from the kept tiles, both tied to the signed roots), retained
/// records keep proofs that verify, pruned ones answer 404, a running server goes on, and every unsafe prune is refused.
/// </summary>
public sealed class AuditPruneTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Prune_WhileTheServerRuns_ArchivesExactly_AndLeavesAVerifiableLogWithProofs()
    {
        using var data = new TemporaryDirectory();
        var archive = Path.Combine(data.Path, "archive-1.jsonl");
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            var open = await log.AppendAsync(new JsonObject { ["kind"] = "call.intent", ["time"] = log.Now() }, Token);
            var closed = await log.AppendAsync(new JsonObject { ["kind"] = "call.intent", ["time"] = log.Now() }, Token);
            await AuditFiles.AppendNotesAsync(log, 1_000);
            await log.AppendAsync(new JsonObject { ["kind"] = "call.outcome", ["time"] = log.Now(), ["intent"] = closed }, Token);
            Assert.NotNull(await log.CheckpointAsync(Token));
            var before = await AuditFiles.ReadRecordsAsync(log.Store);

            var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "600", "--archive", archive);
            Assert.True(exit == 0, output);
            Assert.Contains("pruned records 0 to 511", output, StringComparison.Ordinal);

            // The archive holds records 0–511 byte for byte; their leaves give the kept tiles (and so the signed roots).
            var lines = await File.ReadAllLinesAsync(archive, Token);
            Assert.Equal(before.Take(512).Select(r => r.Record), lines);
            var archivedLeaves = lines.Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l))).ToList();
            Assert.Equal(before.Take(512).Select(r => r.LeafHash), archivedLeaves);
            var after = await AuditFiles.ReadRecordsAsync(log.Store);
            Assert.Equal(512, after[0].Sequence);

            // Which calls never finished is carried past the pruned records (a crash now must still find the open one).
            await using (var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
            {
                var saved = AuditStore.ReadOpenIntents(connection, null);
                Assert.True(saved!.Value.ThroughSequence >= 512, $"saved through {saved.Value.ThroughSequence}");
                Assert.Equal([open, closed], saved.Value.Open.Order());
            }

            // The running server goes on: new records, a new checkpoint over the whole tree, proofs of retained records.
            await AuditFiles.AppendNotesAsync(log, 300);
            var checkpoint = await log.CheckpointAsync(Token);
            var leaves = archivedLeaves.Concat((await AuditFiles.ReadRecordsAsync(log.Store)).Select(r => r.LeafHash)).ToList();
            Assert.Equal(checkpoint!.TreeSize, leaves.Count);
            Assert.Equal(MerkleTree.Root(leaves, leaves.Count), checkpoint.RootHash);
            foreach (var seq in new long[] { 512, 700, 1_100 })
            {
                var proof = await log.GetProofAsync(seq, Token);
                Assert.True(MerkleTree.VerifyInclusion(leaves[(int)seq], seq, proof!.TreeSize, proof.Path, proof.RootHash));
            }

            using var http = server.CreateHttpClient();
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/audit/proof/100", UriKind.Relative), Token)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/audit/proof/600", UriKind.Relative), Token)).StatusCode);
        }

        var (verifyExit, verifyOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(verifyExit == 0, verifyOutput);
        Assert.Contains("records 0 to 511 were pruned", verifyOutput, StringComparison.Ordinal);

        // And it starts again on the pruned log.
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            Assert.NotNull(await server.GetRequiredService<AuditLog>().CheckpointAsync(Token));
        }

        (verifyExit, verifyOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(verifyExit == 0, verifyOutput);
    }

    [Fact]
    public async Task AfterAPrune_TamperingWithTheKeptChainHashOrTiles_FailsVerification()
    {
        using var data = new TemporaryDirectory();
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 600);
            Assert.NotNull(await log.CheckpointAsync(Token));
        }

        var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", Path.Combine(data.Path, "a.jsonl"));
        Assert.True(exit == 0, output);
        var path = Path.Combine(data.Path, "audit.db");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);

        await AuditFiles.ExecuteAsync(path, "CREATE TABLE kept AS SELECT chain_hash FROM audit_pruned; UPDATE audit_pruned SET chain_hash = zeroblob(32);");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("FAILED at index 512", output, StringComparison.Ordinal);

        // The chain hash put back, a kept tile of the pruned records rewritten: the chain holds, the signed root does not.
        await AuditFiles.ExecuteAsync(path, "UPDATE audit_pruned SET chain_hash = (SELECT chain_hash FROM kept); DROP TABLE kept;");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        await AuditFiles.ExecuteAsync(path, "UPDATE audit_tree SET hash = zeroblob(32) WHERE height = 8 AND idx = 1;");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("do not match the signed checkpoint", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachArchive_VerifiesAgainstWhatTheLogKept_AndATamperedOrCutArchiveDoesNot()
    {
        using var data = new TemporaryDirectory();
        var (first, second) = (Path.Combine(data.Path, "a1.jsonl"), Path.Combine(data.Path, "a2.jsonl"));
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 1_000);
            Assert.NotNull(await log.CheckpointAsync(Token));
            foreach (var (before, archive) in new[] { ("512", first), ("800", second) })
            {
                var (pruneExit, pruneOutput) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", before, "--archive", archive);
                Assert.True(pruneExit == 0, pruneOutput);
            }
        }

        foreach (var (archive, count) in new[] { (first, 512), (second, 256) })
        {
            var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", archive);
            Assert.True(exit == 0, output);
            Assert.Contains($"ok: {count} archived records", output, StringComparison.Ordinal);
        }

        var lines = await File.ReadAllLinesAsync(second, Token);
        var tampered = Path.Combine(data.Path, "tampered.jsonl");
        await File.WriteAllLinesAsync(tampered, lines.Select((l, i) => i == 100 ? l.Replace("\"n\":", "\"n\":1", StringComparison.Ordinal) : l), Token);
        var (tamperedExit, tamperedOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", tampered);
        Assert.Equal(1, tamperedExit);
        Assert.Contains("FAILED at index 512", tamperedOutput, StringComparison.Ordinal);

        var cut = Path.Combine(data.Path, "cut.jsonl");
        await File.WriteAllLinesAsync(cut, lines.Take(200), Token);
        var (cutExit, cutOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", cut);
        Assert.Equal(1, cutExit);
        Assert.Contains("truncated", cutOutput, StringComparison.Ordinal);

        var (verifyExit, verifyOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(verifyExit == 0, verifyOutput);
        Assert.Contains("records 0 to 767 were pruned", verifyOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APruneOfMoreThan65536Records_KeepsItsLowerTilesTiedToTheSignedRoots()
    {
        using var data = new TemporaryDirectory();
        var archive = Path.Combine(data.Path, "big.jsonl");
        var path = Path.Combine(data.Path, "audit.db");
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await Task.WhenAll(Enumerable.Range(0, 128).Select(async w =>
            {
                for (var i = 0; i < 520; i++)
                {
                    await log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now(), ["n"] = i }, Token);
                }
            }));
            Assert.NotNull(await log.CheckpointAsync(Token));
            var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "65536", "--archive", archive);
            Assert.True(exit == 0, output);
        }

        // Edit an archived record and rewrite the bottom tile to match the edit: the tile above it no longer agrees.
        var lines = await File.ReadAllLinesAsync(archive, Token);
        lines[5] = lines[5].Replace("\"n\":", "\"n\":1", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(archive, lines, Token);
        var forged = MerkleTree.PerfectRoot(lines.Take(256).Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l))).ToList(), 0, 256);
        await AuditFiles.ExecuteAsync(path, $"UPDATE audit_tree SET hash = x'{Convert.ToHexString(forged)}' WHERE height = 8 AND idx = 0;");
        foreach (var arguments in new[] { new[] { "audit", "verify", "--data", data.Path }, ["audit", "verify", "--data", data.Path, "--archive", archive] })
        {
            var (exit, output) = await AuditProcessTests.RunAsync(arguments);
            Assert.Equal(1, exit);
            Assert.Contains("is not the root of the tiles below it", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AKeptChainHashRewrittenWithEveryLaterChainHash_FailsAtTheSignedChainHash()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 600);
            Assert.NotNull(await log.CheckpointAsync(Token));
            var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", Path.Combine(data.Path, "a.jsonl"));
            Assert.True(exit == 0, output);
        }

        // A consistent forgery of the chain from the kept hash on: every stored chain hash agrees with the records again.
        var chain = new byte[32];
        chain[0] = 1;
        var updates = new StringBuilder($"UPDATE audit_pruned SET chain_hash = x'{Convert.ToHexString(chain)}';");
        foreach (var row in await AuditFiles.ReadRecordsAsync(new AuditStore(path)))
        {
            chain = AuditLog.ChainHash(chain, row.LeafHash);
            updates.Append(System.Globalization.CultureInfo.InvariantCulture, $"UPDATE audit_log SET chain_hash = x'{Convert.ToHexString(chain)}' WHERE seq = {row.Sequence};");
        }

        await AuditFiles.ExecuteAsync(path, updates.ToString());
        var (verifyExit, verifyOutput) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, verifyExit);
        Assert.Contains("do not match the signed checkpoint", verifyOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACheckpointSignedAfterAPrune_OverFewerRecordsThanWerePruned_FailsVerification()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 600);
        Assert.NotNull(await log.CheckpointAsync(Token));
        var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", Path.Combine(data.Path, "a.jsonl"));
        Assert.True(exit == 0, output);

        // What a server without pruning would sign after it: its tree of the 90-odd rows that are left.
        var forged = AuditFiles.SignCheckpoint(server, 90, TimeProvider.System.GetUtcNow().AddMinutes(1));
        await using (var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            AuditStore.InsertCheckpoint(connection, null, forged);
        }

        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("was signed over a log missing them", output, StringComparison.Ordinal);

        // A prune recorded by the version before the stored order was kept is judged by signing times, as then.
        await AuditFiles.ExecuteAsync(log.Store.FilePath, "UPDATE audit_pruned SET checkpoints_through = NULL;");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("was signed over a log missing them", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACheckpointSignedBeforeAPrune_ByAClockThatThenSteppedBack_StillVerifies()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 600);

        // An honest checkpoint over the first 300 records, signed while the clock ran ten minutes fast and stored before
        // the prune, which then ran on the corrected clock: its signing time is later than the prune's.
        var records = await AuditFiles.ReadRecordsAsync(log.Store);
        var leaves = records.Take(300).Select(r => r.LeafHash).ToList();
        var fast = AuditFiles.SignCheckpoint(server, 300, TimeProvider.System.GetUtcNow().AddMinutes(10), MerkleTree.Root(leaves, 300), records[299].ChainHash);
        await using (var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            AuditStore.InsertCheckpoint(connection, null, fast);
        }

        Assert.NotNull(await log.CheckpointAsync(Token));
        var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", Path.Combine(data.Path, "a.jsonl"));
        Assert.True(exit == 0, output);

        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("checkpoint(s) sign only a prefix of the pruned records", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APruneThatCannotWriteItsArchive_SaysWhy_WithoutAStackTrace()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 600);
        Assert.NotNull(await log.CheckpointAsync(Token));
        var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", Path.Combine(data.Path, "no-such-folder", "a.jsonl"));
        Assert.Equal(1, exit);
        Assert.Contains("not pruned:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.Equal(log.Size, (await AuditFiles.ReadRecordsAsync(log.Store)).Count);
    }

    [Fact]
    public async Task APrune_RefusesToArchiveRecordsThatACheckpointMisrepresents_AndAnEditedCheckpointTimeFailsVerify()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 600);
        Assert.NotNull(await log.CheckpointAsync(Token));
        var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "256", "--archive", Path.Combine(data.Path, "a1.jsonl"));
        Assert.True(exit == 0, output);

        // A validly signed checkpoint over records 0–299 that does not match them, as a version without tiles would sign.
        var wrong = AuditFiles.SignCheckpoint(server, 300, TimeProvider.System.GetUtcNow().AddDays(-1));
        await using (var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            AuditStore.InsertCheckpoint(connection, null, wrong);
        }

        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);

        // Pruning past it would leave it checked for its signature only: refused, with nothing archived or deleted.
        Assert.NotNull(await log.CheckpointAsync(Token));
        var archive = Path.Combine(data.Path, "a2.jsonl");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", "512", "--archive", archive);
        Assert.Equal(2, exit);
        Assert.Contains("the checkpoint at tree size 300", output, StringComparison.Ordinal);
        Assert.False(File.Exists(archive));
        await using (var connection = await log.Store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            Assert.Equal(256, AuditStore.ReadPruned(connection, null)!.Value.Before);

            // The time a checkpoint was signed at is signed too: an edited one no longer matches.
            await using var edit = connection.CreateCommand();
            edit.CommandText = "DELETE FROM audit_checkpoints WHERE tree_size = 300; UPDATE audit_checkpoints SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = (SELECT MAX(id) FROM audit_checkpoints);";
            await edit.ExecuteNonQueryAsync(Token);
        }

        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("does not match the values stored beside it", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnArchive_IsCheckedAgainstTheLogFirst_AndAgainstOffBoxCheckpointsInsideItsRange()
    {
        using var data = new TemporaryDirectory();
        var (first, second) = (Path.Combine(data.Path, "a1.jsonl"), Path.Combine(data.Path, "a2.jsonl"));
        var offBox = Path.Combine(data.Path, "off-box");
        Directory.CreateDirectory(offBox);
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await AuditFiles.AppendNotesAsync(log, 300);

            // An off-box copy of a validly signed checkpoint at tree size 300 that these records do not match (the
            // records were rewritten after it was copied away; the log kept nothing of it).
            var honest = AuditFiles.SignCheckpoint(server, 300, TimeProvider.System.GetUtcNow());
            await File.WriteAllTextAsync(Path.Combine(offBox, "checkpoints.jsonl"), AuditCheckpoints.ToExportLine(honest) + "\n", Token);
            await File.WriteAllTextAsync(Path.Combine(offBox, "keys.jwks"), "{\"keys\":[" + AuditFiles.PublicJwk(server) + "]}", Token);

            await AuditFiles.AppendNotesAsync(log, 400);
            Assert.NotNull(await log.CheckpointAsync(Token));
            foreach (var (before, archive) in new[] { ("256", first), ("512", second) })
            {
                var (pruneExit, pruneOutput) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", before, "--archive", archive);
                Assert.True(pruneExit == 0, pruneOutput);
            }
        }

        var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", second, "--checkpoints", offBox);
        Assert.Equal(1, exit);
        Assert.Contains("do not match the signed checkpoint at tree size 300", output, StringComparison.Ordinal);

        // Without the off-box copy the same archive passes, with a warning that no checkpoint inside it was seen.
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", second);
        Assert.True(exit == 0, output);
        Assert.Contains("no trusted checkpoint signs a tree size inside", output, StringComparison.Ordinal);

        // An edited first archive, with its bottom tile and its prune's chain hash rewritten to match: the log's own check
        // (run first) fails at the signed roots those tiles feed.
        var lines = await File.ReadAllLinesAsync(first, Token);
        lines[10] = lines[10].Replace("\"n\":", "\"n\":1", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(first, lines, Token);
        var leaves = lines.Select(l => MerkleTree.LeafHash(Encoding.UTF8.GetBytes(l))).ToList();
        var chain = new byte[32];
        foreach (var leaf in leaves)
        {
            chain = AuditLog.ChainHash(chain, leaf);
        }

        await AuditFiles.ExecuteAsync(Path.Combine(data.Path, "audit.db"), $"UPDATE audit_tree SET hash = x'{Convert.ToHexString(MerkleTree.PerfectRoot(leaves, 0, 256))}' WHERE height = 8 AND idx = 0; UPDATE audit_pruned SET chain_hash = x'{Convert.ToHexString(chain)}' WHERE before_seq = 256;");
        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path, "--archive", first);
        Assert.Equal(1, exit);
        Assert.Contains("do not match the signed checkpoint", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsafePrunes_AreRefused_AndLeaveTheLogAsItWas()
    {
        using var data = new TemporaryDirectory();
        var existing = Path.Combine(data.Path, "taken.jsonl");
        await File.WriteAllTextAsync(existing, "keep me", Token);
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 300);
        Assert.NotNull(await log.CheckpointAsync(Token));
        await AuditFiles.AppendNotesAsync(log, 300);
        var size = log.Size;

        var cases = new (string Before, string Archive, string Reason)[]
        {
            ("512", Path.Combine(data.Path, "x.jsonl"), "signed checkpoint covers"),
            ("255", Path.Combine(data.Path, "y.jsonl"), "nothing to prune"),
            ("256", existing, "exists"),
            ("100000", Path.Combine(data.Path, "z.jsonl"), "at least one record must stay"),
        };
        foreach (var (before, archive, reason) in cases)
        {
            var (exit, output) = await AuditProcessTests.RunAsync("audit", "prune", "--data", data.Path, "--before", before, "--archive", archive);
            Assert.Equal(2, exit);
            Assert.Contains(reason, output, StringComparison.Ordinal);
        }

        Assert.Equal("keep me", await File.ReadAllTextAsync(existing, Token));
        Assert.False(File.Exists(Path.Combine(data.Path, "x.jsonl")));
        Assert.False(File.Exists(Path.Combine(data.Path, "y.jsonl")));
        await using var connection = await new AuditStore(Path.Combine(data.Path, "audit.db")).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        Assert.Null(AuditStore.ReadPruned(connection, null));
        Assert.Equal(size, (await AuditFiles.ReadRecordsAsync(log.Store)).Count);
    }
}
