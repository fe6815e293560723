using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Switchboard.Compliance.Audit;

namespace Switchboard.Benchmarks;

/// <summary>
/// The audit log's stored tree on a log of 2^20 + 1,000 records: the writer's cost per leaf (a tile row every 256), the
/// root a checkpoint signs, what a start reads (the frontier), and an inclusion proof read from the store — beside the
/// proof as it was computed before the tiles, by hashing every leaf held in memory.
/// </summary>
[MemoryDiagnoser]
public class AuditTreeBenchmarks
{
    private const long Size = (1 << 20) + 1_000;

    private readonly List<AuditTile> _tiles = [];
    private string _directory = null!;
    private SqliteConnection _connection = null!;
    private List<byte[]> _leaves = null!;
    private AuditTreeFrontier _growing = null!;
    private AuditTreeFrontier _loaded = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "switchboard-bench-tree-" + Guid.NewGuid().ToString("n"));
        var store = new AuditStore(Path.Combine(_directory, "audit.db"), survivesPowerLoss: false);
        _connection = store.OpenAsync(create: true, TimeSpan.FromSeconds(30), CancellationToken.None).GetAwaiter().GetResult();
        _leaves = new List<byte[]>((int)Size);
        var rows = new List<StoredAuditRecord>(65_536);
        var chain = new byte[32];
        for (long seq = 0; seq < Size; seq++)
        {
            var leaf = MerkleTree.LeafHash(Encoding.UTF8.GetBytes($"{{\"seq\":{seq}}}"));
            chain = AuditLog.ChainHash(chain, leaf);
            _leaves.Add(leaf);
            rows.Add(new StoredAuditRecord(seq, "{}", leaf, chain));
            if (rows.Count == rows.Capacity || seq == Size - 1)
            {
                using var insert = _connection.BeginTransaction();
                AuditStore.InsertRecords(_connection, insert, rows);
                insert.Commit();
                rows.Clear();
            }
        }

        using (var transaction = _connection.BeginTransaction())
        {
            AuditTreeFrontier.Backfill(_connection, transaction, Size);
            transaction.Commit();
        }

        _loaded = AuditTreeFrontier.Load(_connection, null, Size);
        _growing = AuditTreeFrontier.Empty();
        if (!_loaded.Root().AsSpan().SequenceEqual(MerkleTree.Root(_leaves, Size)))
        {
            throw new InvalidOperationException("The stored tree does not give the log's root.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The writer's tree work per record, over whole tiles (255 node hashes and one tile every 256 leaves).</summary>
    [Benchmark(OperationsPerInvoke = 256)]
    public int Append_PerLeaf()
    {
        _tiles.Clear();
        for (var i = 0; i < 256; i++)
        {
            _growing.Append(_leaves[_next++ % _leaves.Count], _tiles);
        }

        return _tiles.Count;
    }

    [Benchmark]
    public byte[] Root_OfTheFrontier() => _loaded.Root();

    [Benchmark]
    public long Load_TheFrontierAtStart() => AuditTreeFrontier.Load(_connection, null, Size).Size;

    [Benchmark]
    public List<byte[]> InclusionProof_FromTheStore() =>
        MerkleTree.InclusionProof((start, height) => AuditTreeFrontier.ReadPerfectSubtree(_connection, start, height), 777_777, Size);

    /// <summary>Before the tiles: the proof hashed the whole log, under the lock the writer needs.</summary>
    [Benchmark]
    public List<byte[]> InclusionProof_FromEveryLeafInMemory_Before() => MerkleTree.InclusionProof(_leaves, 777_777, Size);
}
