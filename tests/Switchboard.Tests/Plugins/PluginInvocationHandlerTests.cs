using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

public class PluginInvocationHandlerTests
{
    private readonly FakeTimeProvider _time = new();

    private (PluginInvocationHandler Sut, ToolCallContext Context) Arrange(IToolInvoker invoker, TimeSpan timeout, string schema = """{"type":"object"}""")
    {
        var plugin = new LoadedPlugin("probe", "1.0.0", "test", null, timeout, [new PluginTool(TestPlugins.Tool("work", schema), invoker)]);
        var snapshot = ToolCatalogBuilder.Build([plugin], new ToolOptions(), new Dictionary<string, PluginSettings>(), 1);
        Assert.True(snapshot.TryGetTool("probe_work", out var tool));
        var context = new ToolCallContext(GatewayTransport.Rest, "probe_work", snapshot, _time.GetTimestamp()) { Tool = tool };
        return (new PluginInvocationHandler(_time, NullLogger<PluginInvocationHandler>.Instance), context);
    }

    [Fact]
    public async Task InvokeAsync_ToolOverrunsTimeout_CancelsWorkAndReturnsTimeoutError()
    {
        var observedCancellation = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var invoker = new TestPlugins.DelegateInvoker(async (_, ct) =>
        {
            ct.Register(() => observedCancellation.TrySetResult());
            started.SetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return new CallToolResult();
        });
        var (sut, context) = Arrange(invoker, TimeSpan.FromSeconds(5));

        var call = sut.InvokeAsync(context, TestContext.Current.CancellationToken).AsTask();
        await started.Task.WaitAsync(TestContext.Current.CancellationToken);
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));
        var outcome = await call.WaitAsync(TestContext.Current.CancellationToken);

        Assert.True(outcome.Result!.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(outcome.Result.Content)).Text;
        Assert.Contains("timed out after 5 s", text, StringComparison.Ordinal);
        Assert.Contains("probe_work", text, StringComparison.Ordinal);
        Assert.Equal(ToolCallOutcomeKind.Timeout, context.OutcomeKind);
        await observedCancellation.Task.WaitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task InvokeAsync_ToolIgnoresCancellation_StillReturnsAtTheDeadline()
    {
        var never = new TaskCompletionSource<CallToolResult>();
        var (sut, context) = Arrange(new TestPlugins.DelegateInvoker((_, _) => never.Task), TimeSpan.FromMilliseconds(250));

        var call = sut.InvokeAsync(context, TestContext.Current.CancellationToken).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(250));
        var outcome = await call.WaitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ToolCallOutcomeKind.Timeout, context.OutcomeKind);
        Assert.Contains("250 ms", ((TextContentBlock)outcome.Result!.Content[0]).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_CallerCancels_PropagatesCancellation()
    {
        using var caller = new CancellationTokenSource();
        var (sut, context) = Arrange(
            new TestPlugins.DelegateInvoker(async (_, ct) => { await Task.Delay(Timeout.InfiniteTimeSpan, ct); return new CallToolResult(); }),
            TimeSpan.FromMinutes(1));

        var call = sut.InvokeAsync(context, caller.Token).AsTask();
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(ToolCallOutcomeKind.Cancelled, context.OutcomeKind);
    }

    [Fact]
    public async Task InvokeAsync_ToolThrows_ReturnsGenericErrorWithoutExceptionText()
    {
        var (sut, context) = Arrange(
            new TestPlugins.DelegateInvoker((_, _) => throw new InvalidOperationException("password=hunter2 at Foo.Bar()")),
            TimeSpan.FromMinutes(1));

        var outcome = await sut.InvokeAsync(context, TestContext.Current.CancellationToken);

        var text = ((TextContentBlock)outcome.Result!.Content[0]).Text;
        Assert.True(outcome.Result.IsError);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Foo.Bar", text, StringComparison.Ordinal);
        Assert.Equal(ToolCallOutcomeKind.ToolError, context.OutcomeKind);
    }

    [Fact]
    public async Task InvokeAsync_McpException_MessageReachesCaller()
    {
        var (sut, context) = Arrange(new TestPlugins.DelegateInvoker((_, _) => throw new McpException("That city is not known.")), TimeSpan.FromMinutes(1));

        var outcome = await sut.InvokeAsync(context, TestContext.Current.CancellationToken);

        Assert.Contains("That city is not known.", ((TextContentBlock)outcome.Result!.Content[0]).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_ProtocolException_IsRethrown()
    {
        var (sut, context) = Arrange(
            new TestPlugins.DelegateInvoker((_, _) => throw new McpProtocolException("bad", McpErrorCode.InvalidParams)),
            TimeSpan.FromMinutes(1));

        await Assert.ThrowsAsync<McpProtocolException>(async () => await sut.InvokeAsync(context, TestContext.Current.CancellationToken));
        Assert.Equal(ToolCallOutcomeKind.ProtocolError, context.OutcomeKind);
    }

    [Fact]
    public async Task InvokeAsync_InvalidArguments_ToolDoesNotRun()
    {
        var invoker = new TestPlugins.FixedResultInvoker("ran");
        var (sut, context) = Arrange(invoker, TimeSpan.FromMinutes(1), """{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}""");

        var outcome = await sut.InvokeAsync(context, TestContext.Current.CancellationToken);

        Assert.True(outcome.Result!.IsError);
        Assert.Equal(0, invoker.Calls);
        Assert.Equal(ToolCallOutcomeKind.InvalidArguments, context.OutcomeKind);
    }

    [Fact]
    public async Task InvokeAsync_Success_SetsOutcome()
    {
        var (sut, context) = Arrange(new TestPlugins.FixedResultInvoker("ok"), TimeSpan.FromMinutes(1));
        var outcome = await sut.InvokeAsync(context, TestContext.Current.CancellationToken);
        Assert.Null(outcome.Result!.IsError);
        Assert.Equal(ToolCallOutcomeKind.Success, context.OutcomeKind);
    }
}
