using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Compliance.Audit;
using Switchboard.Compliance.Masking;

namespace Switchboard.Benchmarks;

/// <summary>
/// The per-call CPU of the compliance stages, piece by piece, on the load test's payload (the echo's one short text
/// argument and its one-block result) and on a 1 KB result holding an e-mail address and a card number: masking one
/// direction, the audit digest and masked summary of one direction, and the canonical bytes of an outcome record (what
/// the audit writer hashes). The durable commit itself is measured by <c>bench/compliance … audit</c>, not here.
/// </summary>
[MemoryDiagnoser]
public class ComplianceBenchmarks
{
    private const string EchoText = "hello from switchboard-bench";

    private MaskingEngine _engine = null!;
    private AuditSummarizer _summarizer = null!;
    private JsonObject _echoArguments = null!;
    private JsonObject _echoResult = null!;
    private JsonObject _largeResult = null!;
    private JsonObject _outcomeRecord = null!;
    private MaskingScope _argumentsScope = null!;
    private MaskingScope _resultsScope = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new ComplianceOptions();
        var keys = new ComplianceKeys();
        keys.Use(new byte[32]);
        var scanner = ComplianceDetectors.CreateScanner(options);
        var vaults = new TokenVaultStore(Options.Create(options), TimeProvider.System);
        _engine = new MaskingEngine(scanner, new MaskingPolicy(options), keys, vaults);
        _summarizer = new AuditSummarizer(scanner, keys, vaults, Options.Create(options));
        _argumentsScope = new MaskingScope("text", "echo", MaskingDirection.Arguments, "conversation", null);
        _resultsScope = new MaskingScope("text", "echo", MaskingDirection.Results, "conversation", null);
        _echoArguments = new JsonObject { ["text"] = EchoText };
        _echoResult = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = EchoText }) };
        var prose = new StringBuilder();
        while (prose.Length < 900)
        {
            prose.Append("Order 48213 shipped on 2026-11-20 to the warehouse in Leeds; status open, weight 12.5 kg. ");
        }

        prose.Append("Contact jane.doe@example.com, card 4111 1111 1111 1111.");
        _largeResult = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = prose.ToString() }) };
        _outcomeRecord = OutcomeRecord();

        // Measure only what works: the 1 KB result's e-mail and card are masked, the echo passes unchanged.
        var report = _engine.Apply(_largeResult.DeepClone(), _resultsScope);
        if (report.CountsByClass.Count == 0 || _engine.Apply(_echoArguments.DeepClone(), _argumentsScope).Changed)
        {
            throw new InvalidOperationException("The masking benchmark's payloads are not masked as expected.");
        }
    }

    [Benchmark(Description = "mask arguments: echo (no finding)")]
    public MaskingReport MaskArguments_Echo() => _engine.Apply(new JsonObject { ["text"] = EchoText }, _argumentsScope);

    [Benchmark(Description = "mask result: echo (no finding)")]
    public MaskingReport MaskResult_Echo() => _engine.Apply(_echoResult.DeepClone(), _resultsScope);

    [Benchmark(Description = "mask result: 1 KB with an e-mail and a card")]
    public MaskingReport MaskResult_1KB() => _engine.Apply(_largeResult.DeepClone(), _resultsScope);

    [Benchmark(Description = "audit digest + summary: echo arguments")]
    public (string, string) Describe_EchoArguments() => _summarizer.Describe(_echoArguments);

    [Benchmark(Description = "audit digest + summary: 1 KB result")]
    public (string, string) Describe_1KB() => _summarizer.Describe(_largeResult);

    [Benchmark(Description = "audit canonical bytes: outcome record")]
    public byte[] Canonical_OutcomeRecord() => CanonicalJson.Serialize(_outcomeRecord);

    [Benchmark(Description = "audit leaf hash: outcome record")]
    public byte[] LeafHash_OutcomeRecord() => MerkleTree.LeafHash(CanonicalJson.Serialize(_outcomeRecord));

    /// <summary>An outcome record shaped like the load test's (about 600 bytes).</summary>
    private static JsonObject OutcomeRecord() => new()
    {
        ["kind"] = "call.outcome",
        ["time"] = "2026-11-24T09:00:00.000Z",
        ["transport"] = "streamable-http",
        ["principal"] = "switchboard-bench",
        ["client"] = "switchboard-bench",
        ["conversation"] = "c_7f3a9b2e4d1c4e0f8a6b5c3d2e1f0a9b",
        ["traceId"] = "4bf92f3577b34da6a3ce929d0e0e4736",
        ["plugin"] = "text",
        ["pluginVersion"] = "1.0.0",
        ["tool"] = "text_echo",
        ["intent"] = 123456L,
        ["decision"] = "allowed",
        ["outcome"] = "success",
        ["result"] = new JsonObject
        {
            ["digest"] = "hmac-sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ["summary"] = "{\"content\":[{\"type\":\"text\",\"text\":\"hello from switchboard-bench\"}]}",
            ["pii"] = new JsonObject(),
        },
        ["latencyUs"] = 412L,
        ["seq"] = 123457L,
    };
}
