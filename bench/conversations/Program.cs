using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Conversations;
using Switchboard.Conversations.Sqlite;
using Switchboard.Hosting;
using Switchboard.Storage;

// Measures, on the real engine and the real SQLite store:
//  - in-process apply: one batch (exclusive write, counter increment, set add, append) applied to a conversation's
//    document (policies, checks, new document), without the store;
//  - durable commit: the same batch through ConversationEngine.CommitAsync, compare-and-swap into SQLite (WAL);
//  - memory per idle conversation: managed heap growth per conversation held in memory after one commit each.
// Usage: dotnet run -c Release --project bench/conversations [-- iterations]
var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var folder = Path.Combine(Path.GetTempPath(), "switchboard-bench-conversations-" + Guid.NewGuid().ToString("n"));
try
{
    var database = new SqliteDatabase(Options.Create(new SwitchboardOptions { DataDirectory = folder }), TimeProvider.System, NullLogger<SqliteDatabase>.Instance);
    await database.InitializeAsync(CancellationToken.None);
    var declaration = new PluginConversation(
        "bench",
        [
            new StateKeyDeclaration("status"),
            new StateKeyDeclaration("hits", StatePolicy.Counter),
            new StateKeyDeclaration("tags", StatePolicy.Set),
            new StateKeyDeclaration("log", StatePolicy.Append),
        ]);
    var options = new ConversationOptions { MaxAppendEntries = 50 };
    var engine = new ConversationEngine(
        new SqliteConversationStore(database),
        new ConversationRegistry([declaration], []),
        Options.Create(options),
        TimeProvider.System,
        NullLogger<ConversationEngine>.Instance);

    var owner = "bench-owner";
    var id = await engine.CreateAsync(owner, CancellationToken.None);
    var actor = (await engine.ResolveAsync(id, owner, createIfMissing: false, CancellationToken.None))!;

    StateBatch Batch(int i) => new("bench", [
        new StateWrite("status", StateWriteKind.Set, JsonSerializer.SerializeToElement("s" + (i % 7).ToString(CultureInfo.InvariantCulture)), ExpectedVersion: actor.Current!.Document.Keys.GetValueOrDefault("status")?.Version ?? 0),
        new StateWrite("hits", StateWriteKind.Increment, Delta: 1),
        new StateWrite("tags", StateWriteKind.Add, JsonSerializer.SerializeToElement("t" + (i % 5).ToString(CultureInfo.InvariantCulture))),
        new StateWrite("log", StateWriteKind.Append, JsonSerializer.SerializeToElement("entry " + i.ToString(CultureInfo.InvariantCulture))),
    ]);

    // Warm up both paths (JIT, SQLite pages, connection pool).
    for (var i = 0; i < 500; i++)
    {
        await engine.CommitAsync(actor, Batch(i), CancellationToken.None);
    }

    var apply = new double[iterations];
    for (var i = 0; i < iterations; i++)
    {
        var snapshot = actor.Current!;
        var batch = Batch(i);
        var start = Stopwatch.GetTimestamp();
        var (document, result) = StateBatchApplier.Apply(snapshot.Document, snapshot.Version, batch, declaration, options, i);
        apply[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        if (document is null || !result.Committed)
        {
            throw new InvalidOperationException(result.Message);
        }
    }

    var commits = Math.Min(iterations, 5_000);
    var commit = new double[commits];
    for (var i = 0; i < commits; i++)
    {
        var batch = Batch(i);
        var start = Stopwatch.GetTimestamp();
        var outcome = await engine.CommitAsync(actor, batch, CancellationToken.None);
        commit[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        if (!outcome.Result.Committed)
        {
            throw new InvalidOperationException(outcome.Result.Message);
        }
    }

    // Memory: conversations created and written once, then left idle in memory.
    const int Idle = 2_000;
    var ids = new List<string>(Idle);
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var before = GC.GetTotalMemory(forceFullCollection: true);
    for (var i = 0; i < Idle; i++)
    {
        var conversation = await engine.CreateAsync(owner, CancellationToken.None);
        var idle = (await engine.ResolveAsync(conversation, owner, createIfMissing: false, CancellationToken.None))!;
        await engine.CommitAsync(idle, new StateBatch("bench", [
            new StateWrite("status", StateWriteKind.Set, JsonSerializer.SerializeToElement("open"), ExpectedVersion: 0),
            new StateWrite("hits", StateWriteKind.Increment, Delta: 1),
        ]), CancellationToken.None);
        ids.Add(conversation);
    }

    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var after = GC.GetTotalMemory(forceFullCollection: true);
    GC.KeepAlive(ids);
    SqliteConnection.ClearAllPools();

    Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    Console.WriteLine($"in-process apply (4 writes/batch, {iterations} batches): median {Median(apply):0.0} us, p90 {Percentile(apply, 0.9):0.0} us");
    Console.WriteLine($"durable commit to SQLite ({commits} batches): median {Median(commit):0.0} us, p90 {Percentile(commit, 0.9):0.0} us");
    Console.WriteLine($"memory per idle conversation ({Idle} held, 2 keys each): {(after - before) / (double)Idle:0} bytes (engine active: {engine.ActiveCount})");
}
finally
{
    SqliteConnection.ClearAllPools();
    try
    {
        Directory.Delete(folder, recursive: true);
    }
    catch (IOException)
    {
    }
}

static double Median(double[] values) => Percentile(values, 0.5);

static double Percentile(double[] values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
}
