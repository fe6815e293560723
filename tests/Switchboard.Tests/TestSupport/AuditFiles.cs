using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Switchboard.Compliance.Audit;
using Switchboard.Security;

namespace Switchboard.Tests.TestSupport;

/// <summary>What the audit tests do to a log from outside the server: read its records, run SQL on its file, append notes, sign a checkpoint.</summary>
internal static class AuditFiles
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Every record in the file, in order.</summary>
    public static async Task<List<StoredAuditRecord>> ReadRecordsAsync(AuditStore store)
    {
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        var rows = new List<StoredAuditRecord>();
        await foreach (var row in AuditStore.ReadRecordsAsync(connection, null, 0, Token))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Runs SQL on the audit file, as an attacker or an older tool with the file in hand would (no migrations).</summary>
    public static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(Token);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Token);
    }

    /// <summary>Appends <paramref name="count"/> note records at once (so they share batches, as concurrent calls do).</summary>
    public static Task AppendNotesAsync(AuditLog log, int count)
        => Task.WhenAll(Enumerable.Range(0, count).Select(i => log.AppendAsync(new JsonObject { ["kind"] = "note", ["time"] = log.Now(), ["n"] = i }, Token)));

    /// <summary>A checkpoint validly signed with the server's active key over whatever tree it is told.</summary>
    public static StoredCheckpoint SignCheckpoint(SwitchboardTestServer server, long treeSize, DateTimeOffset at, byte[]? root = null, byte[]? chain = null)
    {
        var ring = server.GetRequiredService<SigningKeyRing>();
        var credentials = ring.GetSigningCredentials()!;
        var key = ring.State.Keys.First(k => k.Kid == credentials.Key.KeyId);
        return AuditCheckpoints.Sign(treeSize, root ?? new byte[32], chain ?? new byte[32], at, credentials, key.PublicJwk);
    }

    /// <summary>The public JWK of the server's active signing key.</summary>
    public static string PublicJwk(SwitchboardTestServer server)
    {
        var ring = server.GetRequiredService<SigningKeyRing>();
        var kid = ring.GetSigningCredentials()!.Key.KeyId;
        return ring.State.Keys.First(k => k.Kid == kid).PublicJwk;
    }
}
