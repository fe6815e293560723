using System.Numerics;
using System.Security.Cryptography;

namespace Switchboard.Compliance.Audit;

/// <summary>The hash of the perfect subtree of 2^<paramref name="height"/> leaves starting at leaf <paramref name="start"/> (a multiple of its width).</summary>
public delegate byte[] PerfectSubtreeHash(long start, int height);

/// <summary>
/// RFC 6962 (Certificate Transparency) Merkle tree hashing: leaf <c>SHA-256(0x00 ‖ entry)</c>, node
/// <c>SHA-256(0x01 ‖ left ‖ right)</c>, the empty tree <c>SHA-256("")</c>, split at the largest power of two below n;
/// inclusion and consistency proofs, generated and verified as RFC 9162 §2.1 describes.
/// </summary>
public static class MerkleTree
{
    public static byte[] EmptyRoot { get; } = SHA256.HashData([]);

    public static byte[] LeafHash(ReadOnlySpan<byte> entry)
    {
        var buffer = new byte[entry.Length + 1];
        entry.CopyTo(buffer.AsSpan(1));
        return SHA256.HashData(buffer);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The root of the first <paramref name="size"/> leaves.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leafHashes, long size)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        return size == 0 ? EmptyRoot : RangeHash(InMemory(leafHashes), 0, size);
    }

    /// <summary>The audit path of leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves.</summary>
    public static List<byte[]> InclusionProof(IReadOnlyList<byte[]> leafHashes, long index, long size)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        return InclusionProof(InMemory(leafHashes), index, size);
    }

    /// <summary>
    /// The audit path of leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves, built from
    /// the hashes of perfect, aligned subtrees (the only kind RFC 6962's split ever needs), wherever they come from.
    /// </summary>
    public static List<byte[]> InclusionProof(PerfectSubtreeHash perfectSubtree, long index, long size)
    {
        ArgumentNullException.ThrowIfNull(perfectSubtree);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        var proof = new List<byte[]>();
        Path(perfectSubtree, index, 0, size, proof);
        return proof;
    }

    /// <summary>
    /// The hash of the leaves [<paramref name="start"/>, <paramref name="end"/>) as RFC 6962 defines it, for the ranges its
    /// recursion visits: <paramref name="start"/> is a multiple of the largest power of two not above the range's length.
    /// </summary>
    public static byte[] RangeHash(PerfectSubtreeHash perfectSubtree, long start, long end)
    {
        ArgumentNullException.ThrowIfNull(perfectSubtree);
        var n = end - start;
        if ((n & (n - 1)) == 0)
        {
            return perfectSubtree(start, BitOperations.Log2((ulong)n));
        }

        var k = LargestPowerOfTwoBelow(n);
        return NodeHash(perfectSubtree(start, BitOperations.Log2((ulong)k)), RangeHash(perfectSubtree, start + k, end));
    }

    /// <summary>The root of <paramref name="width"/> (a power of two) consecutive hashes of equal-height subtrees.</summary>
    public static byte[] PerfectRoot(IReadOnlyList<byte[]> hashes, int start, int width)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        if (width == 1)
        {
            return hashes[start];
        }

        var half = width / 2;
        return NodeHash(PerfectRoot(hashes, start, half), PerfectRoot(hashes, start + half, half));
    }

    /// <summary>Checks that <paramref name="leafHash"/> is leaf <paramref name="index"/> of the tree of <paramref name="size"/> with <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(ReadOnlySpan<byte> leafHash, long index, long size, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (index < 0 || index >= size)
        {
            return false;
        }

        var fn = index;
        var sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (p is not { Length: 32 } || sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = NodeHash(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>The proof that the tree of <paramref name="oldSize"/> leaves is a prefix of the tree of <paramref name="newSize"/>.</summary>
    public static List<byte[]> ConsistencyProof(IReadOnlyList<byte[]> leafHashes, long oldSize, long newSize)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        var proof = new List<byte[]>();
        if (oldSize > 0 && oldSize < newSize)
        {
            SubProof(InMemory(leafHashes), oldSize, 0, newSize, true, proof);
        }

        return proof;
    }

    /// <summary>Checks a consistency proof between two tree heads.</summary>
    public static bool VerifyConsistency(long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (oldSize < 0 || oldSize > newSize)
        {
            return false;
        }

        if (oldSize == newSize)
        {
            return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        }

        if (oldSize == 0)
        {
            return proof.Count == 0;
        }

        if (proof.Count == 0 || proof.Any(p => p is not { Length: 32 }))
        {
            return false;
        }

        var path = new List<byte[]>(proof);
        if ((oldSize & (oldSize - 1)) == 0)
        {
            path.Insert(0, oldRoot.ToArray());
        }

        var fn = oldSize - 1;
        var sn = newSize - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        var fr = path[0];
        var sr = path[0];
        for (var i = 1; i < path.Count; i++)
        {
            var c = path[i];
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = NodeHash(c, fr);
                sr = NodeHash(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = NodeHash(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && fr.AsSpan().SequenceEqual(oldRoot) && sr.AsSpan().SequenceEqual(newRoot);
    }

    /// <summary>Perfect subtrees of a list of leaf hashes held in memory (the tests' and the verifier's trees).</summary>
    private static PerfectSubtreeHash InMemory(IReadOnlyList<byte[]> leaves) =>
        (start, height) => PerfectRoot(leaves, checked((int)start), checked(1 << height));

    private static void Path(PerfectSubtreeHash perfectSubtree, long m, long start, long end, List<byte[]> proof)
    {
        var n = end - start;
        if (n == 1)
        {
            return;
        }

        var k = LargestPowerOfTwoBelow(n);
        if (m < k)
        {
            Path(perfectSubtree, m, start, start + k, proof);
            proof.Add(RangeHash(perfectSubtree, start + k, end));
        }
        else
        {
            Path(perfectSubtree, m - k, start + k, end, proof);
            proof.Add(RangeHash(perfectSubtree, start, start + k));
        }
    }

    private static void SubProof(PerfectSubtreeHash perfectSubtree, long m, long start, long end, bool complete, List<byte[]> proof)
    {
        var n = end - start;
        if (m == n)
        {
            if (!complete)
            {
                proof.Add(RangeHash(perfectSubtree, start, end));
            }

            return;
        }

        var k = LargestPowerOfTwoBelow(n);
        if (m <= k)
        {
            SubProof(perfectSubtree, m, start, start + k, complete, proof);
            proof.Add(RangeHash(perfectSubtree, start + k, end));
        }
        else
        {
            SubProof(perfectSubtree, m - k, start + k, end, false, proof);
            proof.Add(RangeHash(perfectSubtree, start, start + k));
        }
    }

    /// <summary>The largest power of two strictly below <paramref name="n"/> (n ≥ 2).</summary>
    private static long LargestPowerOfTwoBelow(long n) => 1L << BitOperations.Log2((ulong)(n - 1));
}
