using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Pipeline;

public class GatewayPipelineTests
{
    private static readonly FakeTimeProvider s_time = new();

    private static CatalogSnapshot Catalog(params LoadedPlugin[] plugins)
        => ToolCatalogBuilder.Build(plugins, new ToolOptions(), new Dictionary<string, PluginSettings>(), 1);

    private static GatewayPipeline Create(params GatewayStage[] stages)
        => new(stages, new PluginInvocationHandler(s_time, TestDiagnostics.Overruns(s_time), NullLogger<PluginInvocationHandler>.Instance), NullLogger<GatewayPipeline>.Instance);

    private sealed class RecordingStage(string name, int order, List<string> log) : GatewayStage
    {
        public override string Name => name;

        public override int Order => order;

        public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
        {
            log.Add("enter " + name);
            var outcome = await continuation(context, cancellationToken);
            log.Add("leave " + name);
            return outcome;
        }
    }

    private sealed class DenyingStage : GatewayStage
    {
        public override string Name => "deny";

        public override int Order => 450;

        public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
            => ValueTask.FromResult<ToolCallOutcome>(ToolCallOutcome.ToolErrorResult("denied"));

        public override ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
            => ValueTask.FromResult(ToolListOutcome.FromTools(context.Catalog.Tools.Where(t => t.Name != "p_secret").ToList()));
    }

    [Fact]
    public async Task CallToolAsync_RunsStagesByOrderRegardlessOfRegistrationOrder()
    {
        var log = new List<string>();
        var sut = Create(new RecordingStage("inner", 900, log), new RecordingStage("outer", 100, log), new ToolResolutionStage());

        var catalog = Catalog(TestPlugins.Plugin("p", "a"));
        var outcome = await sut.CallToolAsync(new ToolCallContext(GatewayTransport.Rest, "p_a", catalog, 0), TestContext.Current.CancellationToken);

        Assert.False(outcome.IsError);
        Assert.Equal(["enter outer", "enter inner", "leave inner", "leave outer"], log);
        Assert.Equal(["outer", "resolve-tool", "inner"], sut.Stages.Select(s => s.Name));
    }

    [Fact]
    public async Task CallToolAsync_UnknownTool_IsAnErrorValueAndNoToolRuns()
    {
        var invoker = new TestPlugins.FixedResultInvoker("x");
        var plugin = new LoadedPlugin("p", "1", "t", null, null, [new PluginTool(TestPlugins.Tool("a"), invoker)]);
        var sut = Create(new ToolResolutionStage());

        var outcome = await sut.CallToolAsync(new ToolCallContext(GatewayTransport.Rest, "p_missing", Catalog(plugin), 0), TestContext.Current.CancellationToken);

        Assert.True(outcome.IsError);
        Assert.Equal(GatewayErrorKind.NotFound, outcome.Error.Kind);
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, outcome.Error.JsonRpcCode);
        Assert.Equal(0, invoker.Calls);
    }

    [Fact]
    public async Task CallToolAsync_StageShortCircuits_ToolDoesNotRun()
    {
        var invoker = new TestPlugins.FixedResultInvoker("x");
        var plugin = new LoadedPlugin("p", "1", "t", null, null, [new PluginTool(TestPlugins.Tool("a"), invoker)]);
        var sut = Create(new ToolResolutionStage(), new DenyingStage());

        var outcome = await sut.CallToolAsync(new ToolCallContext(GatewayTransport.Rest, "p_a", Catalog(plugin), 0), TestContext.Current.CancellationToken);

        Assert.True(outcome.Result!.IsError);
        Assert.Equal(0, invoker.Calls);
    }

    [Fact]
    public async Task ListToolsAsync_StagesFilterTheSameCatalogTheCallSees()
    {
        var sut = Create(new DenyingStage());
        var outcome = await sut.ListToolsAsync(new ToolListContext(GatewayTransport.Rest, Catalog(TestPlugins.Plugin("p", "a", "secret")), 0), TestContext.Current.CancellationToken);
        Assert.Equal(["p_a"], outcome.Tools!.Select(t => t.Name));
    }

    [Fact]
    public void Constructor_TwoStagesAtOnePosition_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Create(new RecordingStage("a", 100, []), new RecordingStage("b", 100, [])));
        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GatewayError_UnknownTool_EchoesNameSafely()
    {
        var error = GatewayError.UnknownTool("bad\nname" + new string('x', 500));
        Assert.DoesNotContain('\n', error.Message);
        Assert.True(error.Message.Length < 200);
    }

    [Fact]
    public void ToolCallOutcome_ToolErrorResult_IsMarkedError()
    {
        var result = ToolCallOutcome.ToolErrorResult("nope");
        Assert.True(result.IsError);
        Assert.Equal("nope", Assert.IsType<TextContentBlock>(result.Content[0]).Text);
    }
}
