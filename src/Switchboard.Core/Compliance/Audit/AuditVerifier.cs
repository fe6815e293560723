using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Switchboard.Compliance.Audit;

/// <summary>The outcome of verifying an audit log.</summary>
public sealed record AuditVerification(
    bool Ok,
    long Records,
    int CheckpointsVerified,
    long? FirstBadIndex,
    string? Problem,
    IReadOnlyList<string> Warnings,
    long? LatestTreeSize,
    string? LatestRoot);

/// <summary>
/// Verifies an audit database from scratch, trusting none of the stored hashes: every record must sit at its own
/// index (no gaps, no duplicates), be in canonical form, carry its own sequence number, and reproduce the stored leaf
/// and chain hashes; every checkpoint (stored, or exported elsewhere) must carry a valid signature by a trusted key and
/// match the RFC 6962 root recomputed from the records. The first bad index is reported for modification, deletion,
/// insertion, reordering and tail truncation (a checkpoint that signed more records than remain).
/// </summary>
public static class AuditVerifier
{
    /// <param name="trust">Says why a checkpoint's key is not trusted, or null when it is.</param>
    public static Task<AuditVerification> VerifyAsync(
        AuditStore store,
        IEnumerable<StoredCheckpoint> exported,
        Func<StoredCheckpoint, string?> trust,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(exported);
        ArgumentNullException.ThrowIfNull(trust);
        var checkpoints = exported.ToList();
        return VerifyOnceAsync(store, checkpoints, trust, cancellationToken);
    }

    /// <summary>
    /// The reads of one verification in one read transaction: in WAL mode that is a snapshot, so a prune or the server's
    /// writes committing meanwhile are not seen half (records gone below the pruned start they were read with). It holds
    /// back the WAL's checkpoint for as long as the verification reads, as any long reader does.
    /// </summary>
    private static SqliteTransaction Snapshot(SqliteConnection connection)
        => connection.BeginTransaction(deferred: true);

    private static async Task<AuditVerification> VerifyOnceAsync(
        AuditStore store,
        IEnumerable<StoredCheckpoint> exported,
        Func<StoredCheckpoint, string?> trust,
        CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(30), cancellationToken);
        await using var snapshot = Snapshot(connection);
        var warnings = new List<string>();

        // Checkpoints: the store's and the exported copies, each checked for signature and trusted key.
        var checkpoints = new List<StoredCheckpoint>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var checkpoint in (await AuditStore.ReadCheckpointsAsync(connection, snapshot, cancellationToken)).Concat(exported))
        {
            if (!seen.Add(checkpoint.Jws))
            {
                continue;
            }

            if (AuditCheckpoints.Verify(checkpoint, out var problem) is null)
            {
                return Fail(0, null, $"checkpoint at tree size {checkpoint.TreeSize}: {problem}", warnings, 0);
            }

            if (trust(checkpoint) is { } untrusted)
            {
                return Fail(0, null, $"checkpoint at tree size {checkpoint.TreeSize}: {untrusted}", warnings, 0);
            }

            checkpoints.Add(checkpoint);
        }

        var sizes = checkpoints.Select(c => c.TreeSize).ToHashSet();
        var roots = new Dictionary<long, byte[]>();
        var chains = new Dictionary<long, byte[]>();
        var tree = AuditTreeFrontier.Empty();
        var tiles = new List<AuditTile>();
        var chain = new byte[32];
        long index = 0;

        // After `audit prune` the log starts later: the chain continues from the last pruned record's hash and the tree from
        // the stored tiles of the pruned records, both checked below against every later signed root.
        long first = 0;
        var prunes = AuditStore.ReadPrunes(connection, snapshot);
        if (prunes.Count > 0)
        {
            var pruned = prunes[^1];
            first = index = pruned.Before;
            chain = pruned.ChainHash;
            try
            {
                tree = AuditTreeFrontier.Load(connection, snapshot, first);
            }
            catch (InvalidDataException ex)
            {
                return Fail(first, checkpoints, $"the tree tiles of the pruned records 0 to {first - 1} are incomplete: {ex.Message}", warnings, first);
            }

            // Every kept tile above the bottom level must be the root of the 256 below it, so that the bottom tiles (which
            // `audit verify --archive` checks an archive against) are tied to the frontier, and it to the signed roots.
            if (PrunedTreeProblem(AuditStore.ReadAllTiles(connection, snapshot), first) is { } problem)
            {
                return Fail(0, checkpoints, problem, warnings, first);
            }

            warnings.Add($"records 0 to {first - 1} were pruned ({prunes.Count} prune(s), the last on {pruned.PrunedAt} into {pruned.Archive}); they are checked here through their kept tree tiles, the kept chain hash and the signed roots and chain hashes");
            if (sizes.Contains(first))
            {
                roots[first] = tree.Root();
                chains[first] = chain;
            }
        }

        await foreach (var row in AuditStore.ReadRecordsAsync(connection, snapshot, 0, cancellationToken))
        {
            if (row.Sequence != index)
            {
                return Fail(index, checkpoints, $"record {index} is missing (the next stored record is {row.Sequence}): deleted or renumbered", warnings, index);
            }

            if (!CanonicalJson.IsCanonical(row.Record, out var record))
            {
                return Fail(index, checkpoints, $"record {index} is not in canonical form: modified", warnings, index);
            }

            if (record!["seq"] is not JsonValue seqValue || !seqValue.TryGetValue<long>(out var own) || own != index)
            {
                return Fail(index, checkpoints, $"record {index} carries another sequence number: moved, duplicated or reordered", warnings, index);
            }

            var leaf = MerkleTree.LeafHash(Encoding.UTF8.GetBytes(row.Record));
            if (!leaf.AsSpan().SequenceEqual(row.LeafHash))
            {
                return Fail(index, checkpoints, $"record {index} does not match its leaf hash: modified", warnings, index);
            }

            chain = AuditLog.ChainHash(chain, leaf);
            if (!chain.AsSpan().SequenceEqual(row.ChainHash))
            {
                return Fail(index, checkpoints, $"record {index} breaks the hash chain: a record was modified, inserted or reordered here", warnings, index);
            }

            tree.Append(leaf, tiles);
            index++;
            if (sizes.Contains(index))
            {
                roots[index] = tree.Root();
                chains[index] = chain;
            }
        }

        var records = index;
        if (sizes.Contains(0))
        {
            roots[0] = MerkleTree.EmptyRoot;
        }

        long verifiedSize = 0;
        // A checkpoint over only part of the pruned records can be checked for its signature only; one stored after the
        // prune that took its records away cannot be honest (a version without pruning, signing over the retained rows).
        // "After" is by the order checkpoints were stored in; signing times decide only for a prune recorded before that
        // order was kept, or a checkpoint found only in the exported file.
        var storedOrder = prunes.Any(p => p.CheckpointsThrough is not null) ? AuditStore.ReadCheckpointIds(connection, snapshot) : null;
        foreach (var checkpoint in checkpoints.Where(c => c.TreeSize < first))
        {
            var prune = prunes.First(p => p.Before > checkpoint.TreeSize);
            var storedAfter = prune.CheckpointsThrough is { } through && storedOrder!.TryGetValue(checkpoint.Jws, out var id)
                ? id > through
                : string.CompareOrdinal(checkpoint.CreatedAt, prune.PrunedAt) > 0;
            if (storedAfter)
            {
                return Fail(checkpoint.TreeSize, checkpoints, $"a checkpoint signed at {checkpoint.CreatedAt} covers {checkpoint.TreeSize} records, but records before {prune.Before} had been pruned (at {prune.PrunedAt}) before it was stored: it was signed over a log missing them (a server version without pruning?)", warnings, first);
            }
        }

        var archivedOnly = checkpoints.Count(c => c.TreeSize < first);
        if (archivedOnly > 0)
        {
            warnings.Add($"{archivedOnly} checkpoint(s) sign only a prefix of the pruned records and are checked for their signature only");
        }

        foreach (var checkpoint in checkpoints.Where(c => c.TreeSize >= first).OrderBy(c => c.TreeSize))
        {
            if (checkpoint.TreeSize > records)
            {
                return Fail(records, checkpoints, $"the log ends at {records} records but a checkpoint signed {checkpoint.TreeSize}: records from {records} on were removed (tail truncation)", warnings, records);
            }

            if (!roots[checkpoint.TreeSize].AsSpan().SequenceEqual(checkpoint.RootHash)
                || (checkpoint.TreeSize > 0 && checkpoint.ChainHash is { Length: 32 } signedChain && !chains[checkpoint.TreeSize].AsSpan().SequenceEqual(signedChain)))
            {
                return Fail(verifiedSize, checkpoints, $"records {verifiedSize} to {checkpoint.TreeSize - 1} do not match the signed checkpoint at tree size {checkpoint.TreeSize}: the history was rewritten (hashes recomputed without the signing key)", warnings, records);
            }

            verifiedSize = checkpoint.TreeSize;
        }

        // The stored tree tiles are what inclusion proofs are served from: each must be the subtree the records give.
        var stored = AuditStore.ReadAllTiles(connection, snapshot);
        var missing = 0;
        foreach (var tile in tiles)
        {
            if (!stored.TryGetValue((tile.Height, tile.Index), out var hash))
            {
                missing++;
                continue;
            }

            if (!hash.AsSpan().SequenceEqual(tile.Hash))
            {
                var firstOfTile = tile.Index << tile.Height;
                return Fail(firstOfTile, checkpoints, $"the stored tree tile of records {firstOfTile} to {((tile.Index + 1) << tile.Height) - 1} does not match them: inclusion proofs served from it would not verify (the records themselves are intact)", warnings, records);
            }
        }

        if (missing > 0)
        {
            warnings.Add($"{missing} tree tile(s) not stored yet; the server stores them at its next start");
        }

        if (checkpoints.Count == 0)
        {
            warnings.Add("no checkpoint: tail truncation cannot be ruled out");
        }
        else if (verifiedSize < records)
        {
            warnings.Add($"{records - verifiedSize} record(s) after the latest checkpoint are covered by the hash chain only");
        }

        var latest = checkpoints.OrderBy(c => c.TreeSize).LastOrDefault();
        return new AuditVerification(true, records, checkpoints.Count, null, null, warnings, latest?.TreeSize, latest is null ? null : Convert.ToHexStringLower(latest.RootHash));
    }

    /// <summary>
    /// Verifies an archive that <c>audit prune</c> wrote against what the log kept of it: every line canonical and at its
    /// own sequence number, the chain from the previous prune's kept hash (zeros for record 0) to this prune's kept hash,
    /// and the leaves of every 256 records equal to the kept tile. A kept tile is tied to every later signed root, so an
    /// archive that passes holds exactly the records those roots were signed over.
    /// </summary>
    /// <param name="trusted">Checkpoints already checked for signature and trusted key (stored and exported, those
    /// off-box included): each whose tree size falls in the archive's range must match the tree and chain it gives.</param>
    public static Task<AuditVerification> VerifyArchiveAsync(AuditStore store, string archivePath, IReadOnlyList<StoredCheckpoint> trusted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(trusted);
        return VerifyArchiveOnceAsync(store, archivePath, trusted, cancellationToken);
    }

    private static async Task<AuditVerification> VerifyArchiveOnceAsync(AuditStore store, string archivePath, IReadOnlyList<StoredCheckpoint> trusted, CancellationToken cancellationToken)
    {
        var warnings = new List<string>();
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(30), cancellationToken);
        await using var snapshot = Snapshot(connection);
        var prunes = AuditStore.ReadPrunes(connection, snapshot);
        if (prunes.Count > 0 && PrunedTreeProblem(AuditStore.ReadAllTiles(connection, snapshot), prunes[^1].Before) is { } treeProblem)
        {
            return Fail(0, null, treeProblem, warnings, 0);
        }

        int index = -1;
        long first = 0, before = 0, seq = 0;
        var tile = new List<byte[]>(AuditTreeFrontier.TileWidth);
        PrunedRangeReplay? replay = null;
        await foreach (var line in File.ReadLinesAsync(archivePath, cancellationToken))
        {
            if (!CanonicalJson.IsCanonical(line, out var record) || record!["seq"] is not JsonValue value || !value.TryGetValue<long>(out var own))
            {
                return index < 0
                    ? Fail(0, null, $"{archivePath} does not start with an audit record", warnings, 0)
                    : Fail(seq, null, $"archived record {seq} is not in canonical form: modified", warnings, seq - first);
            }

            if (index < 0)
            {
                // The prune that archived from this record on: the one after the prune that ended here (or the first).
                for (var i = 0; i < prunes.Count && index < 0; i++)
                {
                    index = (i == 0 ? 0 : prunes[i - 1].Before) == own ? i : -1;
                }

                if (index < 0)
                {
                    return Fail(own, null, $"no prune of this log archived records from {own} on", warnings, 0);
                }

                first = seq = own;
                before = prunes[index].Before;
                replay = new PrunedRangeReplay(connection, snapshot, first, before, index == 0 ? new byte[32] : prunes[index - 1].ChainHash, trusted);
                if (replay.CheckStart() is { } atStart)
                {
                    return Fail(first, null, $"the kept tiles below record {first} do not match the signed checkpoint at tree size {atStart.TreeSize}: rewritten", warnings, 0);
                }
            }

            if (seq >= before)
            {
                return Fail(seq, null, $"the archive holds more than records {first} to {before - 1}", warnings, seq - first);
            }

            if (own != seq)
            {
                return Fail(seq, null, $"archived record {seq} carries another sequence number: moved, missing or inserted", warnings, seq - first);
            }

            if (replay!.Add(line, out var leaf) is not null)
            {
                return Fail(first, null, $"archived records {first} to {seq} do not match the signed checkpoint at tree size {seq + 1}: modified", warnings, seq - first);
            }

            tile.Add(leaf);
            if (tile.Count == AuditTreeFrontier.TileWidth)
            {
                var stored = AuditStore.ReadHashes(connection, snapshot, AuditTreeFrontier.TileHeight, seq >> AuditTreeFrontier.TileHeight, 1);
                if (!stored[0].AsSpan().SequenceEqual(MerkleTree.PerfectRoot(tile, 0, tile.Count)))
                {
                    return Fail(seq + 1 - tile.Count, null, $"archived records {seq + 1 - tile.Count} to {seq} do not match the log's kept tile: modified", warnings, seq - first);
                }

                tile.Clear();
            }

            seq++;
        }

        if (index < 0)
        {
            return Fail(0, null, $"{archivePath} holds no audit record", warnings, 0);
        }

        if (seq != before)
        {
            return Fail(seq, null, $"the archive ends at record {seq - 1}; the prune archived up to {before - 1} (truncated)", warnings, seq - first);
        }

        if (replay!.Matched == 0)
        {
            warnings.Add($"no trusted checkpoint signs a tree size inside records {first + 1} to {before}; the archive is tied to the signed roots through the kept tiles only (pass the off-box checkpoints with --checkpoints)");
        }

        if (!replay.Chain.AsSpan().SequenceEqual(prunes[index].ChainHash))
        {
            return Fail(first, null, $"the archive's hash chain does not end at the hash the log kept for record {before - 1}", warnings, seq - first);
        }

        return new AuditVerification(true, before - first, 0, null, null, warnings, null, null);
    }

    /// <summary>
    /// Null when every stored tile above the bottom level that lies wholly within the first <paramref name="first"/>
    /// records is the root of the 256 tiles below it; otherwise what is wrong.
    /// </summary>
    private static string? PrunedTreeProblem(Dictionary<(int Height, long Index), byte[]> stored, long first)
    {
        var children = new List<byte[]>(AuditTreeFrontier.TileWidth);
        foreach (var ((height, index), hash) in stored)
        {
            if (height <= AuditTreeFrontier.TileHeight || ((index + 1) << height) > first)
            {
                continue;
            }

            children.Clear();
            for (long child = index << AuditTreeFrontier.TileHeight; children.Count < AuditTreeFrontier.TileWidth; child++)
            {
                if (!stored.TryGetValue((height - AuditTreeFrontier.TileHeight, child), out var below))
                {
                    return $"the kept tree tile of records {index << height} to {((index + 1) << height) - 1} lacks a tile below it";
                }

                children.Add(below);
            }

            if (!hash.AsSpan().SequenceEqual(MerkleTree.PerfectRoot(children, 0, children.Count)))
            {
                return $"the kept tree tile of records {index << height} to {((index + 1) << height) - 1} is not the root of the tiles below it: rewritten";
            }
        }

        return null;
    }

    /// <summary>Reads exported checkpoints (<c>checkpoints.jsonl</c>) from a folder; unreadable lines are reported.</summary>
    public static List<StoredCheckpoint> ReadExported(string directory, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var list = new List<StoredCheckpoint>();
        var path = Path.Combine(directory, "checkpoints.jsonl");
        if (!File.Exists(path))
        {
            return list;
        }

        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (AuditCheckpoints.FromExportLine(line) is { } checkpoint)
            {
                list.Add(checkpoint);
            }
            else
            {
                problems.Add($"{path}:{number} is not a checkpoint");
            }
        }

        return list;
    }

    private static AuditVerification Fail(long index, List<StoredCheckpoint>? checkpoints, string problem, List<string> warnings, long records)
        => new(false, records, checkpoints?.Count ?? 0, index, problem, warnings, null, null);
}
