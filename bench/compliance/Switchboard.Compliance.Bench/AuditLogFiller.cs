using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Switchboard.Compliance.Audit;

namespace Switchboard.Compliance.Bench;

/// <summary>
/// <c>audit-fill N DIR</c>: writes <c>DIR/audit.db</c> holding a valid log of N records (a start record, then call
/// intents and outcomes in turn, about 400 bytes each, every hash as the server computes it) in the schema of the
/// versions before the tree tiles, so that a server started on it first performs the one-time upgrade. For measuring
/// start-up and memory against the size of the log (<c>bench/audit-start.sh</c>).
/// </summary>
internal static class AuditLogFiller
{
    public static void Fill(long count, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "audit.db");
        File.Delete(path);
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;";
            pragma.ExecuteNonQuery();
        }

        using (var transaction = connection.BeginTransaction())
        using (var schema = connection.CreateCommand())
        {
            schema.Transaction = transaction;
            var (version, name, sql) = AuditStore.Migrations[0];
            schema.CommandText = "CREATE TABLE audit_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;" + sql
                + $"INSERT INTO audit_schema_migrations VALUES ({version}, '{name}');";
            schema.ExecuteNonQuery();
            transaction.Commit();
        }

        var chain = new byte[32];
        var rows = new List<StoredAuditRecord>(50_000);
        var start = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        for (long seq = 0; seq < count; seq++)
        {
            var time = start.AddMilliseconds(seq).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            JsonObject record = seq == 0
                ? new() { ["kind"] = "start", ["time"] = time, ["previousSize"] = 0, ["incomplete"] = 0 }
                : seq % 2 == 1
                    ? new()
                    {
                        ["kind"] = "call.intent", ["time"] = time, ["transport"] = "http", ["principal"] = "bench-client", ["client"] = "bench",
                        ["plugin"] = "text", ["pluginVersion"] = "1.0.0", ["tool"] = "text_echo", ["decision"] = "allowed",
                        ["arguments"] = new JsonObject { ["digest"] = Digest(seq), ["summary"] = "{\"text\":\"hello\"}", ["pii"] = new JsonObject() },
                        ["traceId"] = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(seq)).AsSpan(0, 16)),
                    }
                    : new()
                    {
                        ["kind"] = "call.outcome", ["time"] = time, ["intent"] = seq - 1, ["transport"] = "http", ["tool"] = "text_echo",
                        ["outcome"] = "success", ["latencyUs"] = 180,
                        ["result"] = new JsonObject { ["digest"] = Digest(-seq), ["summary"] = "{\"content\":[{\"text\":\"hello\",\"type\":\"text\"}]}", ["pii"] = new JsonObject() },
                    };
            record["seq"] = seq;
            var bytes = CanonicalJson.Serialize(record);
            var leaf = MerkleTree.LeafHash(bytes);
            chain = AuditLog.ChainHash(chain, leaf);
            rows.Add(new StoredAuditRecord(seq, Encoding.UTF8.GetString(bytes), leaf, chain));
            if (rows.Count == rows.Capacity || seq == count - 1)
            {
                using var transaction = connection.BeginTransaction();
                AuditStore.InsertRecords(connection, transaction, rows);
                transaction.Commit();
                rows.Clear();
            }
        }

        using (var checkpoint = connection.CreateCommand())
        {
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }

        Console.WriteLine($"wrote {count} records to {path} ({new FileInfo(path).Length / (1 << 20)} MiB)");
    }

    private static string Digest(long seed) => "hmac-sha256:" + Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(seed)));
}
