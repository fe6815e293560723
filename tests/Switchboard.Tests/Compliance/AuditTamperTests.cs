using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance.Audit;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// A real server writes an audit log (a start record, then an intent and an outcome record per call, signed checkpoints at
/// start and shutdown). Each test then tampers with the SQLite file directly, as an attacker with file access would, and
/// the verifier behind <c>switchboard audit verify</c> must report the first bad index.
/// </summary>
public sealed class AuditTamperTests
{
    private const int Calls = 5;

    // start + (intent + outcome) per call.
    private const long Records = 1 + (2 * Calls);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<TemporaryDirectory> WriteLogAsync()
    {
        var data = new TemporaryDirectory();
        await using (var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token))
        {
            using var http = server.CreateHttpClient();
            for (var i = 0; i < Calls; i++)
            {
                var response = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = $"call {i}" } }), Token);
                Assert.Equal($"call {i}", response.Result["content"]![0]!["text"]!.GetValue<string>());
            }
        }

        return data;
    }

    private static AuditStore Store(TemporaryDirectory data) => new(Path.Combine(data.Path, "audit.db"));

    private static Task<AuditVerification> VerifyAsync(TemporaryDirectory data, bool withExported = false)
    {
        var problems = new List<string>();
        var exported = withExported ? AuditVerifier.ReadExported(Path.Combine(data.Path, "audit-export"), problems) : [];
        Assert.Empty(problems);
        return AuditVerifier.VerifyAsync(Store(data), exported, _ => null, Token);
    }

    private static Task ExecuteAsync(TemporaryDirectory data, string sql) => AuditFiles.ExecuteAsync(Store(data).FilePath, sql);

    [Fact]
    public async Task IntactLog_Verifies_AndTheShutdownCheckpointCoversEveryRecord()
    {
        using var data = await WriteLogAsync();

        var result = await VerifyAsync(data, withExported: true);

        Assert.True(result.Ok, result.Problem);
        Assert.Equal(Records, result.Records);
        Assert.Equal(Records, result.LatestTreeSize);
        Assert.True(result.CheckpointsVerified >= 2);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public async Task ModifiedRecord_IsReportedAtItsIndex()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "UPDATE audit_log SET record = replace(record, 'text_echo', 'text_exec') WHERE seq = 5;");

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Equal(5, result.FirstBadIndex);
    }

    [Fact]
    public async Task ModifiedRecordWithRecomputedHashes_IsCaughtByTheSignedCheckpoint()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "UPDATE audit_log SET record = replace(record, 'text_echo', 'text_exec') WHERE seq = 5;");
        await RecomputeHashesAsync(data);

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Contains("signed checkpoint", result.Problem, StringComparison.Ordinal);
        Assert.True(result.FirstBadIndex <= 5);
    }

    [Fact]
    public async Task DeletedRecord_IsReportedAtItsIndex()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "DELETE FROM audit_log WHERE seq = 4;");

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Equal(4, result.FirstBadIndex);
    }

    [Fact]
    public async Task InsertedRecord_IsReportedAtItsIndex()
    {
        using var data = await WriteLogAsync();

        // Make room at 3 (highest first, so the primary key never collides), then copy record 2 in.
        await ExecuteAsync(data, $"""
            UPDATE audit_log SET seq = -seq - 1 WHERE seq >= 3;
            UPDATE audit_log SET seq = -seq WHERE seq < 0;
            INSERT INTO audit_log (seq, record, leaf_hash, chain_hash) SELECT 3, record, leaf_hash, chain_hash FROM audit_log WHERE seq = 2;
            """);

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Equal(3, result.FirstBadIndex);
    }

    [Fact]
    public async Task ReorderedRecords_AreReportedAtTheFirstMovedIndex()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, """
            UPDATE audit_log SET seq = 1000 WHERE seq = 6;
            UPDATE audit_log SET seq = 6 WHERE seq = 7;
            UPDATE audit_log SET seq = 7 WHERE seq = 1000;
            """);

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Equal(6, result.FirstBadIndex);
    }

    [Fact]
    public async Task TruncatedTail_IsReportedAtTheFirstMissingIndex()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "DELETE FROM audit_log WHERE seq >= 8;");

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Equal(8, result.FirstBadIndex);
        Assert.Contains("truncation", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedTail_WithTheStoredCheckpointsAlsoDeleted_IsCaughtByTheExportedCheckpoints()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "DELETE FROM audit_log WHERE seq >= 8; DELETE FROM audit_checkpoints;");

        var alone = await VerifyAsync(data);
        var withExported = await VerifyAsync(data, withExported: true);

        // Without the exported copies, nothing proves records were lost (a warning says so).
        Assert.True(alone.Ok);
        Assert.Contains(alone.Warnings, w => w.Contains("truncation", StringComparison.Ordinal));
        Assert.False(withExported.Ok);
        Assert.Equal(8, withExported.FirstBadIndex);
    }

    [Fact]
    public async Task ForgedCheckpoint_IsRejected()
    {
        using var data = await WriteLogAsync();
        await ExecuteAsync(data, "UPDATE audit_checkpoints SET jws = substr(jws, 1, length(jws) - 4) || 'AAAA' WHERE id = (SELECT MAX(id) FROM audit_checkpoints);");

        var result = await VerifyAsync(data);

        Assert.False(result.Ok);
        Assert.Contains("checkpoint", result.Problem, StringComparison.Ordinal);
    }

    /// <summary>What an attacker without the signing key can do: make the leaf and chain hashes consistent again.</summary>
    private static async Task RecomputeHashesAsync(TemporaryDirectory data)
    {
        await using var connection = new SqliteConnection($"Data Source={Store(data).FilePath};Pooling=False");
        await connection.OpenAsync(Token);
        var rows = new List<(long Seq, string Record)>();
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT seq, record FROM audit_log ORDER BY seq;";
            await using var reader = await read.ExecuteReaderAsync(Token);
            while (await reader.ReadAsync(Token))
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }

        var chain = new byte[32];
        foreach (var (seq, record) in rows)
        {
            var leaf = MerkleTree.LeafHash(System.Text.Encoding.UTF8.GetBytes(record));
            chain = System.Security.Cryptography.SHA256.HashData([.. chain, .. leaf]);
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_log SET leaf_hash = $leaf, chain_hash = $chain WHERE seq = $seq;";
            update.Parameters.AddWithValue("$leaf", leaf);
            update.Parameters.AddWithValue("$chain", chain);
            update.Parameters.AddWithValue("$seq", seq);
            await update.ExecuteNonQueryAsync(Token);
        }
    }
}
