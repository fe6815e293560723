using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Compliance.Audit;
using Switchboard.Compliance.Masking;
using Switchboard.Hosting;

namespace Switchboard.Compliance.Bench;

/// <summary>
/// <c>eval [perType] [seed]</c>: generate the labelled corpus and print precision, recall and F2 per entity type.
/// <c>scan</c>: masking throughput and added latency on 1 KB and 100 KB payloads.
/// <c>audit</c>: audit append rate with group commit, by number of concurrent writers.
/// <c>audit-fill N DIR</c>: a valid audit log of N records to start a server on (<see cref="AuditLogFiller"/>).
/// Timings are medians of repeated runs; the machine is printed with them.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var command = args.Length > 0 ? args[0] : "help";
        Console.WriteLine(Machine());
        switch (command)
        {
            case "eval":
                Eval(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20261124);
                return 0;
            case "scan":
                Scan();
                return 0;
            case "audit":
                await AuditAsync();
                return 0;
            case "audit-fill" when args.Length == 3:
                AuditLogFiller.Fill(long.Parse(args[1], CultureInfo.InvariantCulture), args[2]);
                return 0;
            default:
                Console.WriteLine("usage: Switchboard.Compliance.Bench eval [perType] [seed] | scan | audit | audit-fill N DIR");
                return command == "help" ? 0 : 2;
        }
    }

    private static string Machine()
        => $"machine: {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, .NET {Environment.Version}";

    private static void Eval(int perType, int seed)
    {
        var corpus = new CorpusGenerator(seed).Generate(perType);
        var scanner = ComplianceDetectors.CreateScanner(new ComplianceOptions());
        var scores = Evaluator.Score(scanner, corpus);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"corpus: {corpus.Count} samples ({perType} per entity type and look-alike kind), seed {seed}"));
        Console.WriteLine(Evaluator.Render(scores));
        if (Environment.GetEnvironmentVariable("EVAL_EXAMPLES") == "1")
        {
            foreach (var (entity, score) in scores.Where(s => s.Value.Examples.Count > 0))
            {
                Console.WriteLine(entity + ": " + string.Join(" | ", score.Examples));
            }
        }
    }

    private static void Scan()
    {
        var engine = CreateEngine();
        foreach (var size in new[] { 1024, 100 * 1024 })
        {
            var template = Payload(size);
            var bytes = Encoding.UTF8.GetByteCount(template.ToJsonString());
            var iterations = size < 10_000 ? 2000 : 40;
            var argumentTimes = new List<double>();
            var resultTimes = new List<double>();
            for (var round = 0; round < 7; round++)
            {
                argumentTimes.Add(Measure(engine, template, MaskingDirection.Arguments, iterations));
                resultTimes.Add(Measure(engine, template, MaskingDirection.Results, iterations));
            }

            var arguments = Median(argumentTimes);
            var results = Median(resultTimes);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"payload {bytes} bytes: arguments {arguments * 1000:0.0} us/call ({bytes / arguments / 1e3:0.0} MB/s), results {results * 1000:0.0} us/call ({bytes / results / 1e3:0.0} MB/s); added latency per call (both directions) {(arguments + results) * 1000:0.0} us (medians of 7 rounds)"));
        }
    }

    /// <summary>Milliseconds per Apply (parse excluded: the stages get a node from the transport's JSON).</summary>
    private static double Measure(MaskingEngine engine, JsonNode template, MaskingDirection direction, int iterations)
    {
        var copies = Enumerable.Range(0, iterations).Select(_ => template.DeepClone()).ToList();
        var scope = new MaskingScope("bench", "tool", direction, "conversation", null);
        var watch = Stopwatch.StartNew();
        foreach (var copy in copies)
        {
            engine.Apply(copy, scope);
        }

        return watch.Elapsed.TotalMilliseconds / iterations;
    }

    /// <summary>A tool-result-like payload: prose with about one finding per 500 bytes, ids as numbers, nested records.</summary>
    private static JsonObject Payload(int size)
    {
        var generator = new CorpusGenerator(7);
        var corpus = generator.Generate(50);
        var items = new JsonArray();
        var total = 0;
        var i = 0;
        while (total < size)
        {
            var sample = corpus[(i * 37) % corpus.Count];
            var item = new JsonObject { ["id"] = 100000 + i, ["note"] = sample.Text, ["status"] = "open" };
            total += item.ToJsonString().Length;
            items.Add(item);
            i++;
        }

        return new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "records follow" }), ["structuredContent"] = new JsonObject { ["items"] = items } };
    }

    private static MaskingEngine CreateEngine()
    {
        var options = new ComplianceOptions();
        var keys = new ComplianceKeys();
        keys.Use(new byte[32]);
        return new MaskingEngine(ComplianceDetectors.CreateScanner(options), new MaskingPolicy(options), keys, new TokenVaultStore(Options.Create(options), TimeProvider.System));
    }

    private static async Task AuditAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "switchboard-bench-" + Guid.NewGuid().ToString("n"));
        try
        {
            var app = SwitchboardServer.Build(new ServeSettings { Urls = "http://127.0.0.1:0", DataDirectory = data, NoAuthentication = true, BannerWriter = TextWriter.Null });
            await app.StartAsync();
            var log = app.Services.GetRequiredService<AuditLog>();
            var factory = app.Services.GetRequiredService<AuditRecordFactory>();
            foreach (var writers in new[] { 1, 8, 64, 256 })
            {
                var rates = new List<double>();
                var cpuPerRecord = new List<double>();
                for (var round = 0; round < 5; round++)
                {
                    var perWriter = Math.Max(20, 4000 / writers);
                    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    var watch = Stopwatch.StartNew();
                    await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
                    {
                        for (var i = 0; i < perWriter; i++)
                        {
                            await log.AppendAsync(Record(w, i), CancellationToken.None);
                        }
                    })));
                    rates.Add(writers * perWriter / watch.Elapsed.TotalSeconds);
                    cpuPerRecord.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / (writers * perWriter));
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"audit append, {writers,3} concurrent writers: {Median(rates):0} records/s durably committed, {Median(cpuPerRecord):0.0} µs of process CPU per record (synchronous=FULL, group commit; median of 5 rounds)"));
            }

            _ = factory;
            await app.StopAsync();
            await app.DisposeAsync();
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A record the size of a real outcome record (about 600 bytes).</summary>
    private static JsonObject Record(int writer, int index) => new()
    {
        ["kind"] = "call.outcome",
        ["time"] = "2026-11-24T00:00:00.000Z",
        ["transport"] = "http",
        ["principal"] = "bench-" + writer.ToString(CultureInfo.InvariantCulture),
        ["plugin"] = "bench",
        ["pluginVersion"] = "1.0.0",
        ["tool"] = "bench_tool",
        ["decision"] = "allowed",
        ["outcome"] = "success",
        ["intent"] = index,
        ["result"] = new JsonObject
        {
            ["digest"] = "hmac-sha256:" + new string('a', 64),
            ["summary"] = "{\"content\":[{\"type\":\"text\",\"text\":\"a***@example.com ordered 3 items\"}]}",
            ["pii"] = new JsonObject { ["confidential"] = 1 },
        },
        ["latencyUs"] = 1234,
        ["traceId"] = new string('0', 32),
    };

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
