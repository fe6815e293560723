using System.Security.Claims;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ModelContextProtocol.Protocol;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Security;

namespace Switchboard.Benchmarks;

/// <summary>
/// The message pipeline with its real stages (telemetry, tool resolution, authorization) and the real invocation handler
/// (argument check, per-tool timeout) calling the in-process <c>text_echo</c> tool, as a REST call runs it; with
/// authorization enforced (an authenticated caller with scope <c>tools:*</c>) and off (<c>--no-auth</c>).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private GatewayFixture _fixture = null!;
    private GatewayPipeline _pipeline = null!;
    private ToolCatalog _catalog = null!;
    private PluginInvocationHandler _handler = null!;
    private List<GatewayStage> _stages = null!;
    private Dictionary<string, JsonElement> _arguments = null!;
    private ClaimsPrincipal? _caller;

    /// <summary>True: authentication required and the caller carries a token's claims; false: <c>serve --no-auth</c>.</summary>
    [Params(false, true)]
    public bool Auth { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _fixture = await GatewayFixture.CreateAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Security:RequireAuthentication"] = Auth ? "true" : "false",
        });
        _caller = Auth
            ? new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(SwitchboardClaims.Subject, "switchboard-bench"), new Claim(SwitchboardClaims.Scope, "tools:*")],
                "Bearer",
                SwitchboardClaims.Subject,
                SwitchboardClaims.Role))
            : null;
        _pipeline = _fixture.Get<GatewayPipeline>();
        _catalog = _fixture.Get<ToolCatalog>();
        _handler = _fixture.Get<PluginInvocationHandler>();
        _stages = _pipeline.Stages.ToList();
        using var document = JsonDocument.Parse("""{"text":"hello from switchboard-bench"}""");
        _arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { ["text"] = document.RootElement.GetProperty("text").Clone() };

        // Measure only what works: both paths must return the echoed text.
        Check(await CallEcho_AllStages(), nameof(CallEcho_AllStages));
        Check(await CallEcho_InvocationOnly(), nameof(CallEcho_InvocationOnly));
    }

    private static void Check(ToolCallOutcome outcome, string name)
    {
        var text = outcome.IsError ? null : (outcome.Result!.Content.FirstOrDefault() as TextContentBlock)?.Text;
        if (text != "hello from switchboard-bench" || outcome.Result!.IsError == true)
        {
            throw new InvalidOperationException($"{name} did not echo: {(outcome.IsError ? outcome.Error!.Message : text)}");
        }
    }

    [GlobalCleanup]
    public ValueTask CleanupAsync() => _fixture.DisposeAsync();

    /// <summary>Composing the chain from the registered stages (done once at start).</summary>
    [Benchmark]
    public GatewayPipeline Compose() => new(_stages, _handler, GatewayFixture.Logger<GatewayPipeline>());

    /// <summary>A whole <c>tools/call</c> of <c>text_echo</c> through every stage.</summary>
    [Benchmark(Baseline = true)]
    public async Task<ToolCallOutcome> CallEcho_AllStages()
    {
        var context = new ToolCallContext(GatewayTransport.Rest, "text_echo", _catalog.Current, TimeProvider.System.GetTimestamp()) { Arguments = _arguments, User = _caller };
        return await _pipeline.CallToolAsync(context, CancellationToken.None);
    }

    /// <summary>The invocation handler alone (argument check, timeout, the tool): what the stages add is the difference.</summary>
    [Benchmark]
    public async Task<ToolCallOutcome> CallEcho_InvocationOnly()
    {
        var catalog = _catalog.Current;
        catalog.TryGetTool("text_echo", out var tool);
        var context = new ToolCallContext(GatewayTransport.Rest, "text_echo", catalog, TimeProvider.System.GetTimestamp()) { Arguments = _arguments, Tool = tool, User = _caller };
        return await _handler.InvokeAsync(context, CancellationToken.None);
    }

    /// <summary>An unknown tool: refused by the resolution stage (the error fast path).</summary>
    [Benchmark]
    public async Task<ToolCallOutcome> CallUnknownTool()
    {
        var context = new ToolCallContext(GatewayTransport.Rest, "text_nope", _catalog.Current, TimeProvider.System.GetTimestamp()) { Arguments = _arguments, User = _caller };
        return await _pipeline.CallToolAsync(context, CancellationToken.None);
    }

    [Benchmark]
    public async Task<ToolListOutcome> ListTools()
    {
        var context = new ToolListContext(GatewayTransport.Rest, _catalog.Current, TimeProvider.System.GetTimestamp()) { User = _caller };
        return await _pipeline.ListToolsAsync(context, CancellationToken.None);
    }
}
