using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Compliance.Audit;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>Signed checkpoints are written on the interval even when nothing happens, and exported as they are written.</summary>
public sealed class AuditCheckpointTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IdleServer_WritesASignedCheckpointEachInterval_AndExportsIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 4, 0, 0, TimeSpan.Zero));
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<TimeProvider>(time),
            configuration: new Dictionary<string, string?> { ["Switchboard:Compliance:Audit:CheckpointInterval"] = "00:05:00" },
            dataDirectory: data,
            cancellationToken: Token);
        var exported = Path.Combine(data.Path, "audit-export", "checkpoints.jsonl");
        await WaitForLinesAsync(exported, 1);

        // Nothing happens on the server; only the clock moves. Each interval adds one checkpoint.
        for (var expected = 2; expected <= 3; expected++)
        {
            time.Advance(TimeSpan.FromMinutes(5));
            await WaitForLinesAsync(exported, expected);
        }

        var problems = new List<string>();
        var checkpoints = AuditVerifier.ReadExported(Path.Combine(data.Path, "audit-export"), problems);
        Assert.Empty(problems);
        Assert.Equal(3, checkpoints.Count);
        Assert.All(checkpoints, c => Assert.Equal(1, c.TreeSize)); // the start record only: silence is signed too
        Assert.Equal(["2026-11-24T04:00:00.000Z", "2026-11-24T04:05:00.000Z", "2026-11-24T04:10:00.000Z"], checkpoints.Select(c => c.CreatedAt));
    }

    [Fact]
    public async Task ACheckpointThatCannotBeExported_WhileAnotherReplicaHoldsTheLock_IsStoredAndExportedWithTheNext()
    {
        using var data = new TemporaryDirectory();
        await using var server = await SwitchboardTestServer.StartAsync(dataDirectory: data, cancellationToken: Token);
        var log = server.GetRequiredService<AuditLog>();
        var exported = Path.Combine(data.Path, "audit-export", "checkpoints.jsonl");

        // The writer exports on its own thread before it answers: once this checkpoint is back, no export holds the lock.
        Assert.NotNull(await log.CheckpointAsync(Token));
        var before = (await File.ReadAllLinesAsync(exported, Token)).Length;
        Assert.True(before >= 1);

        // Another replica on the same data folder holds the export lock (an exclusive open, flock on Unix): the writer does
        // not wait for it; the checkpoint is stored and signed, and not exported yet.
        StoredCheckpoint? held;
        using (new FileStream(Path.Combine(data.Path, "audit-export", ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            held = await log.CheckpointAsync(Token).WaitAsync(TimeSpan.FromSeconds(10), Token);
            Assert.NotNull(held);
            Assert.Equal(before, (await File.ReadAllLinesAsync(exported, Token)).Length);
        }

        // The next export writes both, in order.
        var next = await log.CheckpointAsync(Token);
        var lines = await File.ReadAllLinesAsync(exported, Token);
        Assert.Equal(before + 2, lines.Length);
        var problems = new List<string>();
        var all = AuditVerifier.ReadExported(Path.Combine(data.Path, "audit-export"), problems);
        Assert.Empty(problems);
        Assert.Equal([held!.Jws, next!.Jws], all.TakeLast(2).Select(c => c.Jws));
    }

    private static async Task WaitForLinesAsync(string path, int count)
    {
        // The timer fires on the fake clock; the write itself is asynchronous, so wait for it (bounded).
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!File.Exists(path) || (await File.ReadAllLinesAsync(path, deadline.Token)).Length < count)
        {
            await Task.Delay(20, deadline.Token);
        }
    }
}
