using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ModelContextProtocol.Protocol;
using Switchboard.Plugins;

namespace Switchboard.Benchmarks;

/// <summary>Tool-name resolution, cursor paging and argument validation on catalogs of realistic and large sizes.</summary>
[MemoryDiagnoser]
public class CatalogBenchmarks
{
    private CatalogSnapshot _catalog = null!;
    private string _lookup = null!;
    private string _cursor = null!;
    private JsonElement _echoSchema;
    private JsonElement _wideSchema;
    private Dictionary<string, JsonElement> _echoArguments = null!;
    private Dictionary<string, JsonElement> _wideArguments = null!;

    /// <summary>Tools in the catalog.</summary>
    [Params(4, 1000)]
    public int Tools { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var tools = new List<CatalogTool>();
        var plugin = new LoadedPlugin("bench", "1.0.0", "benchmark", null, null, []);
        var invoker = new NullInvoker();
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}""");
        for (var i = 0; i < Tools; i++)
        {
            var name = $"bench_tool{i:D4}";
            tools.Add(new CatalogTool(name, plugin, $"tool{i:D4}", new Tool { Name = name, InputSchema = schema.RootElement.Clone() }, TimeSpan.FromSeconds(5), invoker));
        }

        _catalog = new CatalogSnapshot(tools, [plugin], 1);
        _lookup = tools[Tools / 2].Name;
        _cursor = ToolListPager.Encode(tools[Tools / 2].Name);
        _echoSchema = schema.RootElement.Clone();
        using var args = JsonDocument.Parse("""{"text":"hello from switchboard-bench"}""");
        _echoArguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { ["text"] = args.RootElement.GetProperty("text").Clone() };

        using var wide = JsonDocument.Parse("""
            {"type":"object","additionalProperties":false,"required":["a0","a5"],"properties":{
              "a0":{"type":"string"},"a1":{"type":"integer"},"a2":{"type":"number"},"a3":{"type":"boolean"},"a4":{"type":["string","null"]},
              "a5":{"type":"string","enum":["x","y","z"]},"a6":{"type":"array"},"a7":{"type":"object"},"a8":{"type":"string"},"a9":{"type":"integer"}}}
            """);
        _wideSchema = wide.RootElement.Clone();
        using var wideArgs = JsonDocument.Parse("""{"a0":"s","a1":3,"a2":1.5,"a3":true,"a4":null,"a5":"y","a6":[1],"a7":{},"a8":"t","a9":9}""");
        _wideArguments = wideArgs.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
    }

    [Benchmark]
    public bool ResolveToolName() => _catalog.TryGetTool(_lookup, out _);

    [Benchmark]
    public int FirstPage()
    {
        ToolListPager.TryGetPage(_catalog.Tools, null, 100, out var page, out _);
        return page.Count;
    }

    [Benchmark]
    public int PageFromCursor()
    {
        ToolListPager.TryGetPage(_catalog.Tools, _cursor, 100, out var page, out _);
        return page.Count;
    }

    [Benchmark]
    public bool ValidateEchoArguments() => ToolArgumentValidator.TryValidate(_echoSchema, _echoArguments, out _);

    [Benchmark]
    public bool ValidateTenArguments() => ToolArgumentValidator.TryValidate(_wideSchema, _wideArguments, out _);

    private sealed class NullInvoker : IToolInvoker
    {
        public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
            => ValueTask.FromResult(new CallToolResult());
    }
}
