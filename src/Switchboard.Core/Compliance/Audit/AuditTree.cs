using Microsoft.Data.Sqlite;

namespace Switchboard.Compliance.Audit;

/// <summary>A stored tile: the hash of the perfect subtree of the leaves [Index·2^Height, (Index+1)·2^Height).</summary>
internal readonly record struct AuditTile(int Height, long Index, byte[] Hash);

/// <summary>
/// The audit log's Merkle tree without every leaf in memory. Each complete subtree of 2^8, 2^16, 2^24… leaves is stored
/// as a tile (<c>audit_tree</c>) in the same transaction as its last record; memory holds only the hashes that do not
/// fill a tile yet — at most 255 per level, five levels for a trillion records. So a restart reads a few hundred rows
/// instead of every leaf, the server's memory does not grow with the log, and an inclusion proof reads at most 128
/// stored hashes per subtree on its path instead of hashing the whole log.
/// </summary>
/// <remarks>Owned by the audit writer thread (and by start-up before that thread runs); not thread-safe.</remarks>
internal sealed class AuditTreeFrontier
{
    public const int TileHeight = 8;
    public const int TileWidth = 1 << TileHeight;

    // _levels[k]: hashes of complete subtrees of height 8k, oldest first, that do not fill a tile of height 8(k+1) yet.
    private readonly List<List<byte[]>> _levels = [[]];

    private AuditTreeFrontier(long size) => Size = size;

    /// <summary>Leaves appended so far.</summary>
    public long Size { get; private set; }

    public static AuditTreeFrontier Empty() => new(0);

    /// <summary>Appends a leaf, adding to <paramref name="completed"/> every tile it completes (they must be stored with it).</summary>
    public void Append(byte[] leafHash, List<AuditTile> completed)
    {
        Size++;
        var hash = leafHash;
        for (var level = 0; ; level++)
        {
            if (level == _levels.Count)
            {
                _levels.Add([]);
            }

            var pending = _levels[level];
            pending.Add(hash);
            if (pending.Count < TileWidth)
            {
                return;
            }

            hash = MerkleTree.PerfectRoot(pending, 0, TileWidth);
            pending.Clear();
            var height = (level + 1) * TileHeight;
            completed.Add(new AuditTile(height, (Size >> height) - 1, hash));
        }
    }

    /// <summary>The RFC 6962 root of all leaves so far: the perfect subtrees of the size's binary decomposition, folded from the right.</summary>
    public byte[] Root()
    {
        var roots = new List<byte[]>();
        for (var level = _levels.Count - 1; level >= 0; level--)
        {
            var pending = _levels[level];
            var offset = 0;
            for (var bit = TileHeight - 1; bit >= 0; bit--)
            {
                var width = 1 << bit;
                if ((pending.Count & width) != 0)
                {
                    roots.Add(MerkleTree.PerfectRoot(pending, offset, width));
                    offset += width;
                }
            }
        }

        if (roots.Count == 0)
        {
            return MerkleTree.EmptyRoot;
        }

        var root = roots[^1];
        for (var i = roots.Count - 2; i >= 0; i--)
        {
            root = MerkleTree.NodeHash(roots[i], root);
        }

        return root;
    }

    /// <summary>
    /// Reads the frontier of a log of <paramref name="size"/> records from the store: on each level, the hashes after the
    /// last complete tile of the level above (at most 255 rows a level). Throws <see cref="InvalidDataException"/> when a
    /// row the tree needs is missing (a gap in the sequence numbers); <c>switchboard audit verify</c> says where.
    /// </summary>
    public static AuditTreeFrontier Load(SqliteConnection connection, SqliteTransaction? transaction, long size)
    {
        var frontier = new AuditTreeFrontier(size);
        for (var level = 0; (size >> (level * TileHeight)) > 0; level++)
        {
            var height = level * TileHeight;
            var from = (size >> (height + TileHeight)) << TileHeight;
            var to = size >> height;
            var hashes = AuditStore.ReadHashes(connection, transaction, height, from, (int)(to - from));
            if (level == frontier._levels.Count)
            {
                frontier._levels.Add([]);
            }

            frontier._levels[level].AddRange(hashes);
        }

        return frontier;
    }

    /// <summary>
    /// Stores every tile a log of <paramref name="size"/> records should have and does not (a log written before tiles
    /// existed, or by an older version sharing the data folder), level by level from the one below. Inside the caller's
    /// write transaction. With <paramref name="findHoles"/> it also refills a tile missing below stored ones. Returns how
    /// many tiles it wrote.
    /// </summary>
    public static long Backfill(SqliteConnection connection, SqliteTransaction transaction, long size, bool findHoles = false)
    {
        long written = 0;
        for (var height = TileHeight; (size >> height) > 0; height += TileHeight)
        {
            var expected = size >> height;
            var have = AuditStore.FirstMissingTile(connection, transaction, height, findHoles);
            if (have >= expected)
            {
                continue;
            }

            var below = height - TileHeight;
            var batch = new List<AuditTile>();
            var group = new List<byte[]>(TileWidth);
            var next = have << TileHeight;
            foreach (var (index, hash) in AuditStore.StreamHashes(connection, transaction, below, have << TileHeight, expected << TileHeight))
            {
                if (index != next)
                {
                    throw Missing(below, next);
                }

                next++;
                group.Add(hash);
                if (group.Count == TileWidth)
                {
                    batch.Add(new AuditTile(height, (next >> TileHeight) - 1, MerkleTree.PerfectRoot(group, 0, TileWidth)));
                    group.Clear();
                    if (batch.Count == 1024)
                    {
                        AuditStore.InsertTiles(connection, transaction, batch);
                        written += batch.Count;
                        batch.Clear();
                    }
                }
            }

            if (next != expected << TileHeight)
            {
                throw Missing(below, next);
            }

            AuditStore.InsertTiles(connection, transaction, batch);
            written += batch.Count;
        }

        return written;
    }

    private static InvalidDataException Missing(int height, long index) => new(height == 0
        ? $"The audit log has no record {index}; run `switchboard audit verify`."
        : $"The audit log's tree has no tile {index} of height {height}; run `switchboard audit verify`.");

    /// <summary>
    /// The hash of a perfect subtree read from the store: from the tiles of the highest level not above its height, or from
    /// the leaves — at most 128 rows.
    /// </summary>
    public static byte[] ReadPerfectSubtree(SqliteConnection connection, long start, int height)
    {
        var below = height / TileHeight * TileHeight;
        var width = 1 << (height - below);
        var hashes = AuditStore.ReadHashes(connection, null, below, start >> below, width);
        return MerkleTree.PerfectRoot(hashes, 0, width);
    }
}

/// <summary>
/// Replays records from a prune boundary — the tree from the tiles kept below it, the chain from the previous prune's kept
/// hash (zeros for record 0) — and compares every given checkpoint whose tree size it reaches with the root and chain
/// hash the records give. What <c>audit prune</c> does before it archives records (a checkpoint over them can only be
/// checked for its signature afterwards) and what <c>audit verify --archive</c> does with the archive.
/// </summary>
internal sealed class PrunedRangeReplay
{
    private readonly AuditTreeFrontier _tree;
    private readonly Dictionary<long, List<StoredCheckpoint>> _pending;
    private readonly List<AuditTile> _tiles = [];

    /// <param name="checkpoints">Checkpoints already checked for their signature; those with a tree size in
    /// [<paramref name="from"/>, <paramref name="until"/>] are compared.</param>
    public PrunedRangeReplay(SqliteConnection connection, SqliteTransaction? transaction, long from, long until, byte[] chainBefore, IEnumerable<StoredCheckpoint> checkpoints)
    {
        _tree = AuditTreeFrontier.Load(connection, transaction, from);
        Chain = chainBefore;
        _pending = checkpoints.Where(c => c.TreeSize >= from && c.TreeSize <= until).GroupBy(c => c.TreeSize).ToDictionary(g => g.Key, g => g.ToList());
    }

    /// <summary>The chain hash of the last record replayed (or the one given at the start).</summary>
    public byte[] Chain { get; private set; }

    /// <summary>Checkpoints that matched so far.</summary>
    public int Matched { get; private set; }

    /// <summary>Compares the checkpoints at the start itself; null, or the first that does not match.</summary>
    public StoredCheckpoint? CheckStart() => Check();

    /// <summary>Replays one record, as stored or archived; null, or the first checkpoint at the new size that does not match.</summary>
    public StoredCheckpoint? Add(string record, out byte[] leaf)
    {
        leaf = MerkleTree.LeafHash(System.Text.Encoding.UTF8.GetBytes(record));
        Chain = AuditLog.ChainHash(Chain, leaf);
        _tree.Append(leaf, _tiles);
        _tiles.Clear();
        return Check();
    }

    private StoredCheckpoint? Check()
    {
        if (!_pending.Remove(_tree.Size, out var checkpoints))
        {
            return null;
        }

        var root = _tree.Root();
        foreach (var checkpoint in checkpoints)
        {
            if (!checkpoint.RootHash.AsSpan().SequenceEqual(root) || (_tree.Size > 0 && !checkpoint.ChainHash.AsSpan().SequenceEqual(Chain)))
            {
                return checkpoint;
            }

            Matched++;
        }

        return null;
    }
}
