using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Switchboard.Compliance.Audit;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// The audit log's tree without every leaf in memory: the frontier's root and its stored tiles agree with the full
/// RFC 6962 computation at every size (across the 2^8 and 2^16 tile boundaries), inclusion proofs read from the store
/// equal the in-memory ones and verify, a log written before tiles existed gets them once, and a gap is reported.
/// </summary>
public sealed class AuditTreeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Leaf(long i) => MerkleTree.LeafHash(Encoding.UTF8.GetBytes($"record {i}"));

    [Fact]
    public void FrontierRoot_EqualsTheFullTreeRoot_AtEverySizeUpTo600_AndItsTilesArePerfectSubtrees()
    {
        var leaves = new List<byte[]>();
        var frontier = AuditTreeFrontier.Empty();
        var tiles = new List<AuditTile>();
        Assert.Equal(MerkleTree.EmptyRoot, frontier.Root());
        for (var i = 0; i < 600; i++)
        {
            leaves.Add(Leaf(i));
            frontier.Append(leaves[^1], tiles);
            Assert.Equal(MerkleTree.Root(leaves, leaves.Count), frontier.Root());
        }

        Assert.Equal(600, frontier.Size);
        Assert.Equal([(8, 0L), (8, 1L)], tiles.Select(t => (t.Height, t.Index)));
        Assert.Equal(MerkleTree.Root(leaves.GetRange(256, 256), 256), tiles[1].Hash);
    }

    [Fact]
    public void FrontierRoot_EqualsTheFullTreeRoot_AcrossTheSecondTileLevel()
    {
        var leaves = new List<byte[]>();
        var frontier = AuditTreeFrontier.Empty();
        var tiles = new List<AuditTile>();
        var checkedSizes = new HashSet<int> { 65_535, 65_536, 65_537, 65_792, 66_000, 131_072, 131_329 };
        for (var i = 0; i < 131_329; i++)
        {
            leaves.Add(Leaf(i));
            frontier.Append(leaves[^1], tiles);
            if (checkedSizes.Contains(leaves.Count))
            {
                Assert.Equal(MerkleTree.Root(leaves, leaves.Count), frontier.Root());
            }
        }

        var top = tiles.Where(t => t.Height == 16).ToList();
        Assert.Equal([0L, 1L], top.Select(t => t.Index));
        Assert.Equal(MerkleTree.Root(leaves.GetRange(65_536, 65_536), 65_536), top[1].Hash);
        Assert.Equal(131_329 / 256, tiles.Count(t => t.Height == 8));
    }

    [Fact]
    public async Task ALogWrittenBeforeTiles_GetsThemOnce_AndProofsFromTheStore_EqualTheInMemoryProofs()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        const int Size = 70_001;
        var leaves = await WriteLegacyLogAsync(path, Size);
        var store = new AuditStore(path);
        await using var connection = await store.OpenAsync(create: true, TimeSpan.FromSeconds(5), Token);

        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token))
        {
            Assert.Equal((Size / 256) + (Size / 65_536), AuditTreeFrontier.Backfill(connection, transaction, Size));
            Assert.Equal(0, AuditTreeFrontier.Backfill(connection, transaction, Size));
            var frontier = AuditTreeFrontier.Load(connection, transaction, Size);
            Assert.Equal(MerkleTree.Root(leaves, Size), frontier.Root());
            await transaction.CommitAsync(Token);
        }

        PerfectSubtreeHash fromStore = (start, height) => AuditTreeFrontier.ReadPerfectSubtree(connection, start, height);
        var random = new Random(20261125);
        foreach (var size in new long[] { 1, 2, 255, 256, 257, 65_536, 65_537, 69_999, Size })
        {
            var root = MerkleTree.Root(leaves, size);
            Assert.Equal(root, MerkleTree.RangeHash(fromStore, 0, size));
            foreach (var index in new[] { 0, size - 1, random.NextInt64(size), random.NextInt64(size) })
            {
                var proof = MerkleTree.InclusionProof(fromStore, index, size);
                Assert.Equal(MerkleTree.InclusionProof(leaves, index, size), proof);
                Assert.True(MerkleTree.VerifyInclusion(leaves[(int)index], index, size, proof, root));
            }
        }
    }

    [Fact]
    public async Task AGapInTheSequence_IsReported_NotBuiltOver()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        await WriteLegacyLogAsync(path, 600);
        await using var connection = await new AuditStore(path).OpenAsync(create: true, TimeSpan.FromSeconds(5), Token);
        await using (var delete = connection.CreateCommand())
        {
            delete.CommandText = "DELETE FROM audit_log WHERE seq = 300;";
            await delete.ExecuteNonQueryAsync(Token);
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token);
        var error = Assert.Throws<InvalidDataException>(() => AuditTreeFrontier.Backfill(connection, transaction, 600));
        Assert.Contains("300", error.Message, StringComparison.Ordinal);
        Assert.Contains("audit verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerOnALegacyLog_BuildsItsTree_SignsTheTrueRoot_AndServesProofsThatVerify()
    {
        using var data = new TemporaryDirectory();
        var leaves = await WriteLegacyLogAsync(Path.Combine(data.Path, "audit.db"), 1_000);
        long size;
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();

            // Enough records that the server itself completes two tiles (768–1023, 1024–1279), in concurrent batches.
            await AuditFiles.AppendNotesAsync(log, 300);
            var checkpoint = await log.CheckpointAsync(Token);
            Assert.NotNull(checkpoint);
            size = checkpoint.TreeSize;
            Assert.True(size > 1_280);

            // The server appended its own records (one call.incomplete for the legacy log's open intent, and start): the
            // signed root is over all of them, as recomputed here from every leaf hash in the file.
            var all = await ReadLeafHashesAsync(log.Store);
            Assert.Equal(leaves, all.Take(leaves.Count));
            Assert.Equal(all.Count, size);
            Assert.Equal(MerkleTree.Root(all, size), checkpoint.RootHash);
            foreach (var seq in new long[] { 0, 511, 512, 999, 1_000, 1_100, 1_279, size - 1 })
            {
                var proof = await log.GetProofAsync(seq, Token);
                Assert.NotNull(proof);
                Assert.True(MerkleTree.VerifyInclusion(all[(int)seq], seq, proof.TreeSize, proof.Path, proof.RootHash));
            }
        }

        // Restarted, the server reads its frontier back from the tiles and continues the same tree.
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            var checkpoint = await log.CheckpointAsync(Token);
            var all = await ReadLeafHashesAsync(log.Store);
            Assert.True(checkpoint!.TreeSize > size);
            Assert.Equal(MerkleTree.Root(all, checkpoint.TreeSize), checkpoint.RootHash);
        }
    }

    [Fact]
    public async Task OpenIntents_SavedAtAStop_AreMarkedIncompleteAtTheNextStart_WithoutReadingTheLog()
    {
        using var data = new TemporaryDirectory();
        long open;
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            open = await log.AppendAsync(new JsonObject { ["kind"] = "call.intent", ["time"] = log.Now(), ["tool"] = "text_echo" }, Token);
            var closed = await log.AppendAsync(new JsonObject { ["kind"] = "call.intent", ["time"] = log.Now(), ["tool"] = "text_echo" }, Token);
            await log.AppendAsync(new JsonObject { ["kind"] = "call", ["time"] = log.Now(), ["intent"] = closed, ["status"] = "ok" }, Token);
        }

        // What the stop saved: every record accounted for, one intent open.
        var path = Path.Combine(data.Path, "audit.db");
        await using (var connection = await new AuditStore(path).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            var saved = AuditStore.ReadOpenIntents(connection, null);
            Assert.NotNull(saved);
            Assert.Equal([open], saved.Value.Open);
            Assert.Equal(await CountAsync(connection), saved.Value.ThroughSequence);

            // Rewrite the open intent's record as an outcome-less "note": a start that re-read the log would now find
            // nothing open; one that trusts the saved set (as it should, never re-reading those records) still does.
            await using var edit = connection.CreateCommand();
            edit.CommandText = "UPDATE audit_log SET record = replace(record, '\"call.intent\"', '\"note\"') WHERE seq = $seq;";
            edit.Parameters.AddWithValue("$seq", open);
            Assert.Equal(1, await edit.ExecuteNonQueryAsync(Token));
        }

        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var records = await server.ReadAuditRecordsAsync();
            var incomplete = Assert.Single(records, r => r["kind"]!.GetValue<string>() == "call.incomplete");
            Assert.Equal(open, incomplete["intent"]!.GetValue<long>());
            var start = records.Last(r => r["kind"]!.GetValue<string>() == "start");
            Assert.Equal(1, start["incomplete"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task TheOpenIntents_AreSavedEvery65536Records_WhileTheServerRuns()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        var open = await log.AppendAsync(new JsonObject { ["kind"] = "call.intent", ["time"] = log.Now() }, Token);
        var writers = Enumerable.Range(0, 128).Select(async w =>
        {
            for (var i = 0; i < (AuditLog.OpenIntentsSaveInterval / 128) + 8; i++)
            {
                await log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now() }, Token);
            }
        });
        await Task.WhenAll(writers);

        // Read while the server still runs: a crash now would leave this save, not one from the stop.
        await using var connection = await new AuditStore(Path.Combine(data.Path, "audit.db")).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        var saved = AuditStore.ReadOpenIntents(connection, null);
        Assert.NotNull(saved);
        Assert.True(saved.Value.ThroughSequence > AuditLog.OpenIntentsSaveInterval, $"saved through {saved.Value.ThroughSequence}");
        Assert.Equal([open], saved.Value.Open);
    }

    [Theory]
    [InlineData("""{"kind":"call.intent","seq":4}""", "call.intent", null)]
    [InlineData("""{"arguments":{"intent":99,"kind":"start","list":[1,{"intent":7}]},"intent":3,"kind":"call.outcome","seq":4}""", "call.outcome", 3L)]
    [InlineData("""{"intent":"3","kind":7}""", null, null)]
    [InlineData("""{"kind":"start""", null, null)]
    [InlineData("""[1,2]""", null, null)]
    public void TheRecordScan_ReadsOnlyTheTopLevelKindAndIntent(string record, string? kind, long? intent)
        => Assert.Equal((kind, intent), AuditLog.KindAndIntent(record));

    [Fact]
    public async Task AfterACrash_TheRecordsSinceTheLastSave_AreReadToFindTheOpenIntents()
    {
        using var data = new TemporaryDirectory();
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
        }

        // A crash after the last save: records appended behind the saved set's back, as a killed server leaves them.
        var path = Path.Combine(data.Path, "audit.db");
        long first;
        await using (var connection = await new AuditStore(path).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            first = await CountAsync(connection);
            var (_, chain) = AuditStore.ReadLast(connection, null);
            var rows = new List<StoredAuditRecord>();
            JsonObject[] appended =
            [
                new() { ["kind"] = "call.intent", ["time"] = "2026-11-25T00:00:00.000Z" },
                new() { ["kind"] = "call.intent", ["time"] = "2026-11-25T00:00:00.000Z" },
                new() { ["kind"] = "call", ["time"] = "2026-11-25T00:00:00.000Z", ["intent"] = first, ["status"] = "ok" },
            ];
            for (var i = 0; i < appended.Length; i++)
            {
                appended[i]["seq"] = first + i;
                var bytes = CanonicalJson.Serialize(appended[i]);
                var leaf = MerkleTree.LeafHash(bytes);
                chain = AuditLog.ChainHash(chain!, leaf);
                rows.Add(new StoredAuditRecord(first + i, Encoding.UTF8.GetString(bytes), leaf, chain));
            }

            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token);
            AuditStore.InsertRecords(connection, transaction, rows);
            await transaction.CommitAsync(Token);
        }

        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var records = await server.ReadAuditRecordsAsync();
            var incomplete = Assert.Single(records, r => r["kind"]!.GetValue<string>() == "call.incomplete");
            Assert.Equal(first + 1, incomplete["intent"]!.GetValue<long>());
        }

        var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task AProofOverAMissingTile_IsAClear500_NotAStackTrace()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await AuditFiles.AppendNotesAsync(log, 300);
        using var http = server.CreateHttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/audit/proof/300", UriKind.Relative), Token)).StatusCode);

        // The proof of record 300 needs the subtree of records 0–255, which is a stored tile.
        await AuditFiles.ExecuteAsync(Path.Combine(data.Path, "audit.db"), "DELETE FROM audit_tree WHERE height = 8 AND idx = 0;");
        using var response = await http.GetAsync(new Uri("/audit/proof/300", UriKind.Relative), Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("audit verify", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);

        // A proof that needs no stored tile is still served.
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/audit/proof/5", UriKind.Relative), Token)).StatusCode);
    }

    [Fact]
    public async Task AuditVerify_ChecksTheStoredTiles_ThatProofsAreServedFrom()
    {
        using var data = new TemporaryDirectory();
        await WriteLegacyLogAsync(Path.Combine(data.Path, "audit.db"), 600);
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
        }

        var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("tile", output, StringComparison.Ordinal);

        await using (var connection = await new AuditStore(Path.Combine(data.Path, "audit.db")).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token))
        {
            await using var edit = connection.CreateCommand();
            edit.CommandText = "UPDATE audit_tree SET hash = zeroblob(32) WHERE height = 8 AND idx = 1;";
            Assert.Equal(1, await edit.ExecuteNonQueryAsync(Token));
        }

        (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, exit);
        Assert.Contains("tree tile of records 256 to 511", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnALogFromBeforeTheSavedSet_OnlyTheIntentsSinceTheLastStartAreMarkedIncomplete()
    {
        using var data = new TemporaryDirectory();
        JsonObject[] records =
        [
            new() { ["kind"] = "start", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "call.intent", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "list", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "start", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "call.intent", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "call.intent", ["time"] = "2026-11-20T10:00:00.000Z" },
            new() { ["kind"] = "call.outcome", ["time"] = "2026-11-20T10:00:00.000Z", ["intent"] = 4 },
        ];
        // Intent 1 has no outcome but belongs to a run before the last start (which, as ever, only closes its own run's).
        await WriteLegacyLogAsync(Path.Combine(data.Path, "audit.db"), records.Length, seq => records[seq]);
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var written = await server.ReadAuditRecordsAsync();
        var incomplete = Assert.Single(written.Skip(records.Length), r => r["kind"]!.GetValue<string>() == "call.incomplete");
        Assert.Equal(5, incomplete["intent"]!.GetValue<long>());
    }

    [Fact]
    public void RootsAndProofs_AgreeWithAnIndependentRfc9162Reference_AcrossTheFirstTiles()
    {
        var leaves = Enumerable.Range(0, 1_100).Select(i => Leaf(i)).ToList();
        var frontier = AuditTreeFrontier.Empty();
        var tiles = new List<AuditTile>();
        for (var size = 1; size <= leaves.Count; size++)
        {
            frontier.Append(leaves[size - 1], tiles);
            var root = ReferenceHash(leaves, 0, size);
            Assert.Equal(root, frontier.Root());
            Assert.Equal(root, MerkleTree.Root(leaves, size));
            if (size <= 300 || size % 37 == 0 || size is 511 or 512 or 513 or 767 or 768 or 1_024 or 1_025)
            {
                for (var m = 0; m < size; m += size > 300 ? 7 : 1)
                {
                    Assert.Equal(ReferencePath(leaves, m, 0, size), MerkleTree.InclusionProof(leaves, m, size));
                }
            }
        }
    }

    [Fact]
    public async Task AfterABatchFails_BehindAnOlderPeersRecords_TheWriterRebuildsTheirTilesAndGoesOn()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        await log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now() }, Token);

        // An older version sharing the folder appends 300 records and no tiles; the next batch takes them in (storing
        // their tile) and then fails, so its rollback takes that tile with it.
        await PeerAppendAsync(path, 300);
        await AuditFiles.ExecuteAsync(path, "CREATE TRIGGER refuse BEFORE INSERT ON audit_log WHEN NEW.record LIKE '%refused-here%' BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        await Assert.ThrowsAsync<AuditUnavailableException>(() => log.AppendAsync(new JsonObject { ["kind"] = "refused-here", ["time"] = log.Now() }, Token));
        await AuditFiles.ExecuteAsync(path, "DROP TRIGGER refuse;");

        await log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now() }, Token);
        var checkpoint = await log.CheckpointAsync(Token);
        var all = await ReadLeafHashesAsync(log.Store);
        Assert.Equal(ReferenceHash(all, 0, all.Count), checkpoint!.RootHash);
        var proof = await log.GetProofAsync(10, Token);
        Assert.True(MerkleTree.VerifyInclusion(all[10], 10, proof!.TreeSize, proof.Path, proof.RootHash));
    }

    [Fact]
    public async Task AfterACheckpointFails_BehindAnOlderPeersRecords_NoTileIsLeftOut()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            await log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now() }, Token);
            await PeerAppendAsync(path, 300);
            await AuditFiles.ExecuteAsync(path, "CREATE TRIGGER refuse BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'refused'); END;");
            Assert.Null(await log.CheckpointAsync(Token));
            await AuditFiles.ExecuteAsync(path, "DROP TRIGGER refuse;");
            await AuditFiles.AppendNotesAsync(log, 300);
            Assert.NotNull(await log.CheckpointAsync(Token));
        }

        var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("tile", output, StringComparison.Ordinal);
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            var log = server.GetRequiredService<AuditLog>();
            var checkpoint = await log.CheckpointAsync(Token);
            var all = await ReadLeafHashesAsync(log.Store);
            Assert.Equal(ReferenceHash(all, 0, (int)checkpoint!.TreeSize), checkpoint.RootHash);
        }
    }

    [Fact]
    public async Task TwoServersOnOneDataFolder_WriteOneLog_WhoseTreeBothSignAndProveCorrectly()
    {
        using var data = new TemporaryDirectory();
        await using var first = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        await using var second = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var logs = new[] { first.GetRequiredService<AuditLog>(), second.GetRequiredService<AuditLog>() };

        // Interleaved batches from both writers, past the first tiles (each catches up on the other's records and tiles).
        await Task.WhenAll(Enumerable.Range(0, 700).Select(i => logs[i % 2].AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = logs[i % 2].Now(), ["n"] = i }, Token)));
        var checkpoints = new[] { await logs[0].CheckpointAsync(Token), await logs[1].CheckpointAsync(Token) };
        var all = await ReadLeafHashesAsync(logs[0].Store);
        Assert.True(all.Count > 700);
        foreach (var (log, checkpoint) in logs.Zip(checkpoints))
        {
            Assert.NotNull(checkpoint);
            Assert.Equal(ReferenceHash(all, 0, (int)checkpoint.TreeSize), checkpoint.RootHash);
            foreach (var seq in new long[] { 3, 300, 511, 600 })
            {
                var proof = await log.GetProofAsync(seq, Token);
                Assert.True(MerkleTree.VerifyInclusion(all[(int)seq], seq, proof!.TreeSize, proof.Path, proof.RootHash));
            }
        }

        Assert.Equal(all.Count, checkpoints[1]!.TreeSize);
        var (exit, output) = await AuditProcessTests.RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("tile", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHoleBelowStoredTiles_IsRefilled_WhenLookedFor()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        var leaves = await WriteLegacyLogAsync(path, 600);
        await using var connection = await new AuditStore(path).OpenAsync(create: true, TimeSpan.FromSeconds(5), Token);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token);
        Assert.Equal(2, AuditTreeFrontier.Backfill(connection, transaction, 600));
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM audit_tree WHERE height = 8 AND idx = 0;";
            await delete.ExecuteNonQueryAsync(Token);
        }

        // The writer's catch-up path looks only past the highest tile; a start (or a reload, or a prune) finds the hole.
        Assert.Equal(0, AuditTreeFrontier.Backfill(connection, transaction, 600));
        Assert.Equal(2, AuditTreeFrontier.Backfill(connection, transaction, 600, findHoles: true));
        await transaction.CommitAsync(Token);
        Assert.Equal(ReferenceHash(leaves, 0, 600), MerkleTree.RangeHash((start, height) => AuditTreeFrontier.ReadPerfectSubtree(connection, start, height), 0, 600));
    }

    [Fact]
    public async Task TilesBeyondATruncatedLog_AreDropped_NotSignedOver()
    {
        using var data = new TemporaryDirectory();
        var path = Path.Combine(data.Path, "audit.db");
        await WriteLegacyLogAsync(path, 600);
        await using (var connection = await new AuditStore(path).OpenAsync(create: true, TimeSpan.FromSeconds(5), Token))
        {
            await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token))
            {
                AuditTreeFrontier.Backfill(connection, transaction, 600);
                await transaction.CommitAsync(Token);
            }

            // The tail cut off: tile 1 (records 256–511) now covers records that are gone.
            await using var truncate = connection.CreateCommand();
            truncate.CommandText = "DELETE FROM audit_log WHERE seq >= 300;";
            await truncate.ExecuteNonQueryAsync(Token);
        }

        // A server of this version opens the truncated log (and drops the tile that covers missing records); then a writer
        // that stores no tiles appends other records over the same positions.
        await using (var first = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
        }

        await PeerAppendAsync(path, 300);
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        var checkpoint = await log.CheckpointAsync(Token);
        var all = await ReadLeafHashesAsync(log.Store);
        Assert.Equal(ReferenceHash(all, 0, (int)checkpoint!.TreeSize), checkpoint.RootHash);
    }

    /// <summary>RFC 9162 §2.1.1, written out with no code shared with the server's tree.</summary>
    private static byte[] ReferenceHash(List<byte[]> leaves, int start, int end)
    {
        var n = end - start;
        if (n == 1)
        {
            return leaves[start];
        }

        var k = 1;
        while (k * 2 < n)
        {
            k *= 2;
        }

        return MerkleTree.NodeHash(ReferenceHash(leaves, start, start + k), ReferenceHash(leaves, start + k, end));
    }

    /// <summary>RFC 9162 §2.1.3.1, written out likewise.</summary>
    private static List<byte[]> ReferencePath(List<byte[]> leaves, int m, int start, int end)
    {
        var n = end - start;
        if (n == 1)
        {
            return [];
        }

        var k = 1;
        while (k * 2 < n)
        {
            k *= 2;
        }

        var path = m < k ? ReferencePath(leaves, m, start, start + k) : ReferencePath(leaves, m - k, start + k, end);
        path.Add(m < k ? ReferenceHash(leaves, start + k, end) : ReferenceHash(leaves, start, start + k));
        return path;
    }

    /// <summary>Appends records as a version before the tiles would, from another connection (another process's).</summary>
    private static async Task PeerAppendAsync(string path, int count)
    {
        await using var connection = await new AuditStore(path).OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token);
        var (last, chain) = AuditStore.ReadLast(connection, transaction);
        var rows = new List<StoredAuditRecord>();
        for (var seq = last!.Value + 1; rows.Count < count; seq++)
        {
            var bytes = CanonicalJson.Serialize(new JsonObject { ["kind"] = "note", ["time"] = "2026-11-25T00:00:00.000Z", ["seq"] = seq });
            var leaf = MerkleTree.LeafHash(bytes);
            chain = AuditLog.ChainHash(chain!, leaf);
            rows.Add(new StoredAuditRecord(seq, Encoding.UTF8.GetString(bytes), leaf, chain));
        }

        AuditStore.InsertRecords(connection, transaction, rows);
        await transaction.CommitAsync(Token);
    }

    /// <summary>A log as a version before the tree tiles wrote it: schema 1 only, intents and outcomes in turn.</summary>
    private static async Task<List<byte[]>> WriteLegacyLogAsync(string path, int count, Func<int, JsonObject>? recordAt = null)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(Token);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(Token);
        await using (var schema = connection.CreateCommand())
        {
            schema.Transaction = transaction;
            schema.CommandText = "CREATE TABLE audit_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT; INSERT INTO audit_schema_migrations VALUES (1, 'audit_log');"
                + AuditStore.Migrations[0].Sql;
            await schema.ExecuteNonQueryAsync(Token);
        }

        var leaves = new List<byte[]>(count);
        var rows = new List<StoredAuditRecord>(count);
        var chain = new byte[32];
        for (var seq = 0; seq < count; seq++)
        {
            var record = recordAt is not null ? recordAt(seq) : seq == 0
                ? new JsonObject { ["kind"] = "start", ["time"] = "2026-11-20T10:00:00.000Z" }
                : seq % 2 == 1
                    ? new JsonObject { ["kind"] = "call.intent", ["time"] = "2026-11-20T10:00:00.000Z", ["tool"] = "text_echo" }
                    : new JsonObject { ["kind"] = "call", ["time"] = "2026-11-20T10:00:00.000Z", ["intent"] = seq - 1 };
            record["seq"] = seq;
            var bytes = CanonicalJson.Serialize(record);
            var leaf = MerkleTree.LeafHash(bytes);
            chain = AuditLog.ChainHash(chain, leaf);
            leaves.Add(leaf);
            rows.Add(new StoredAuditRecord(seq, Encoding.UTF8.GetString(bytes), leaf, chain));
        }

        AuditStore.InsertRecords(connection, transaction, rows);
        await transaction.CommitAsync(Token);
        return leaves;
    }

    private static async Task<List<byte[]>> ReadLeafHashesAsync(AuditStore store)
        => [.. (await AuditFiles.ReadRecordsAsync(store)).Select(r => r.LeafHash)];

    private static async Task<long> CountAsync(SqliteConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM audit_log;";
        return (long)(await command.ExecuteScalarAsync(Token))!;
    }
}
