using Switchboard.Compliance.Audit;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// RFC 6962 known-answer vectors: the eight-leaf test tree used by Certificate Transparency implementations, its roots at
/// every size, and inclusion and consistency proofs taken from those published vectors.
/// </summary>
public sealed class MerkleTreeTests
{
    private static readonly byte[][] s_entries =
    [
        [],
        [0x00],
        [0x10],
        [0x20, 0x21],
        [0x30, 0x31],
        [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ];

    private static readonly string[] s_roots =
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    private static List<byte[]> Leaves() => s_entries.Select(e => MerkleTree.LeafHash(e)).ToList();

    [Fact]
    public void EmptyTree_RootIsTheHashOfNothing()
        => Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(MerkleTree.Root([], 0)));

    [Fact]
    public void Roots_MatchTheKnownAnswers_AtEverySize_AndTheStoredTreeFrontierAgrees()
    {
        var leaves = Leaves();
        var frontier = AuditTreeFrontier.Empty();
        var tiles = new List<AuditTile>();
        for (var size = 1; size <= 8; size++)
        {
            frontier.Append(leaves[size - 1], tiles);
            Assert.Equal(s_roots[size - 1], Convert.ToHexStringLower(MerkleTree.Root(leaves, size)));
            Assert.Equal(s_roots[size - 1], Convert.ToHexStringLower(frontier.Root()));
        }
    }

    [Theory]
    [InlineData(0, 1, new string[0])]
    [InlineData(0, 8, new[] { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" })]
    [InlineData(5, 8, new[] { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" })]
    [InlineData(2, 3, new[] { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" })]
    [InlineData(1, 5, new[] { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" })]
    public void InclusionProofs_MatchTheKnownAnswers_AndVerify(long index, long size, string[] expected)
    {
        var leaves = Leaves();
        var proof = MerkleTree.InclusionProof(leaves, index, size);

        Assert.Equal(expected, proof.Select(Convert.ToHexStringLower));
        var root = Convert.FromHexString(s_roots[size - 1]);
        Assert.True(MerkleTree.VerifyInclusion(leaves[(int)index], index, size, proof, root));

        // The same proof must not verify another leaf or another root.
        if (size > 1)
        {
            Assert.False(MerkleTree.VerifyInclusion(leaves[(int)((index + 1) % size)], index, size, proof, root));
        }

        Assert.False(MerkleTree.VerifyInclusion(leaves[(int)index], index, size, proof, Convert.FromHexString(s_roots[size % 8])));
    }

    [Theory]
    [InlineData(1, 1, new string[0])]
    [InlineData(1, 8, new[] { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" })]
    [InlineData(6, 8, new[] { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" })]
    [InlineData(2, 5, new[] { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" })]
    public void ConsistencyProofs_MatchTheKnownAnswers_AndVerify(long oldSize, long newSize, string[] expected)
    {
        var proof = MerkleTree.ConsistencyProof(Leaves(), oldSize, newSize);

        Assert.Equal(expected, proof.Select(Convert.ToHexStringLower));
        var oldRoot = Convert.FromHexString(s_roots[oldSize - 1]);
        var newRoot = Convert.FromHexString(s_roots[newSize - 1]);
        Assert.True(MerkleTree.VerifyConsistency(oldSize, newSize, oldRoot, newRoot, proof));
        if (oldSize != newSize)
        {
            var wrongOld = Convert.FromHexString(s_roots[oldSize % 8]);
            Assert.False(MerkleTree.VerifyConsistency(oldSize, newSize, wrongOld, newRoot, proof));
        }
    }

    [Fact]
    public void TamperedProof_DoesNotVerify()
    {
        var leaves = Leaves();
        var proof = MerkleTree.InclusionProof(leaves, 3, 8);
        proof[1] = (byte[])proof[1].Clone();
        proof[1][0] ^= 1;

        Assert.False(MerkleTree.VerifyInclusion(leaves[3], 3, 8, proof, Convert.FromHexString(s_roots[7])));
    }
}
