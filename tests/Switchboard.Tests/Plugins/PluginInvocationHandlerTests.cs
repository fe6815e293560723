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

    public PluginInvocationHandlerTests() => Overruns = TestDiagnostics.Overruns(_time);

    private OverrunningToolCalls Overruns { get; }

    private (PluginInvocationHandler Sut, ToolCallContext Context) Arrange(
        IToolInvoker invoker, TimeSpan timeout, string schema = """{"type":"object"}""", PluginSettings? settings = null)
    {
        var plugin = new LoadedPlugin("probe", "1.0.0", "test", null, timeout, [new PluginTool(TestPlugins.Tool("work", schema), invoker)]);
        var pluginSettings = new Dictionary<string, PluginSettings>();
        if (settings is not null)
        {
            pluginSettings["probe"] = settings;
        }

        var snapshot = ToolCatalogBuilder.Build([plugin], new ToolOptions(), pluginSettings, 1);
        Assert.True(snapshot.TryGetTool("probe_work", out var tool));
        var context = new ToolCallContext(GatewayTransport.Rest, "probe_work", snapshot, _time.GetTimestamp()) { Tool = tool };
        return (new PluginInvocationHandler(_time, Overruns, NullLogger<PluginInvocationHandler>.Instance), context);
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
    public async Task InvokeAsync_ToolBlocksItsThread_CallerIsStillAnsweredAtTheDeadline()
    {
        // The tool never awaits: it holds whatever thread runs it. Run inline, it would hold the caller too, and the
        // call would only return (synchronously) when the tool gives up after 10 s.
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = 0;
        var (sut, context) = Arrange(
            new TestPlugins.DelegateInvoker((_, _) =>
            {
                started.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
                Volatile.Write(ref finished, 1);
                return Task.FromResult(new CallToolResult());
            }),
            TimeSpan.FromSeconds(2));

        try
        {
            var call = sut.InvokeAsync(context, TestContext.Current.CancellationToken).AsTask();
            Assert.False(call.IsCompleted);
            await started.Task.WaitAsync(TestContext.Current.CancellationToken);
            _time.Advance(TimeSpan.FromSeconds(2));
            var outcome = await call.WaitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(ToolCallOutcomeKind.Timeout, context.OutcomeKind);
            Assert.True(outcome.Result!.IsError);
            Assert.Equal(0, Volatile.Read(ref finished));
            Assert.Equal(1, Overruns.CountFor("probe"));
        }
        finally
        {
            release.Set();
        }

        await Eventually.TrueAsync(() => Overruns.CountFor("probe") == 0, "the blocked call to stop counting once it ended");
    }

    [Fact]
    public async Task InvokeAsync_InlineTool_RunsOnTheCallersThread_AndCompletesSynchronously()
    {
        var callerThread = Environment.CurrentManagedThreadId;
        var toolThread = 0;
        var (sut, context) = Arrange(
            new TestPlugins.DelegateInvoker((_, _) =>
            {
                toolThread = Environment.CurrentManagedThreadId;
                return Task.FromResult(new CallToolResult { Content = [new TextContentBlock { Text = "inline" }] });
            }),
            TimeSpan.FromMinutes(1),
            settings: new PluginSettings { Execution = ToolExecution.Inline });

        var call = sut.InvokeAsync(context, TestContext.Current.CancellationToken);

        Assert.True(call.IsCompletedSuccessfully);
        Assert.Equal(callerThread, toolThread);
        Assert.Equal("inline", ((TextContentBlock)(await call).Result!.Content[0]).Text);
    }

    [Fact]
    public async Task InvokeAsync_PluginAtItsOverrunLimit_RefusesNewCalls_UntilAnOverrunningCallEnds()
    {
        var pending = new List<TaskCompletionSource<CallToolResult>>();
        var invoker = new TestPlugins.DelegateInvoker((_, _) =>
        {
            // Ignores its cancellation token on purpose.
            var never = new TaskCompletionSource<CallToolResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (pending)
            {
                pending.Add(never);
            }

            return never.Task;
        });
        int Started()
        {
            lock (pending)
            {
                return pending.Count;
            }
        }

        var settings = new PluginSettings { MaxOverrunningCalls = 2 };
        for (var i = 1; i <= 2; i++)
        {
            var (sut, context) = Arrange(invoker, TimeSpan.FromSeconds(1), settings: settings);
            var call = sut.InvokeAsync(context, TestContext.Current.CancellationToken).AsTask();
            await Eventually.TrueAsync(() => Started() == i, $"call {i} to start");
            _time.Advance(TimeSpan.FromSeconds(1));
            await call.WaitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(ToolCallOutcomeKind.Timeout, context.OutcomeKind);
        }

        Assert.Equal(2, Overruns.CountFor("probe"));
        var (refusing, refused) = Arrange(invoker, TimeSpan.FromSeconds(1), settings: settings);
        var refusal = await refusing.InvokeAsync(refused, TestContext.Current.CancellationToken);

        Assert.True(refusal.Result!.IsError);
        var text = ((TextContentBlock)refusal.Result.Content[0]).Text;
        Assert.Contains("2 earlier calls to plugin 'probe' are still running", text, StringComparison.Ordinal);
        Assert.Equal(ToolCallOutcomeKind.ToolError, refused.OutcomeKind);
        Assert.Equal(2, Started());

        lock (pending)
        {
            pending[0].SetResult(new CallToolResult());
        }

        await Eventually.TrueAsync(() => Overruns.CountFor("probe") == 1, "the ended call to stop counting");
        var (admitting, admitted) = Arrange(invoker, TimeSpan.FromSeconds(1), settings: settings);
        var admittedCall = admitting.InvokeAsync(admitted, TestContext.Current.CancellationToken).AsTask();
        await Eventually.TrueAsync(() => Started() == 3, "the next call to run once below the limit");
        lock (pending)
        {
            pending[2].SetResult(new CallToolResult { Content = [new TextContentBlock { Text = "late but fine" }] });
            pending[1].SetResult(new CallToolResult());
        }

        var outcome = await admittedCall.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(ToolCallOutcomeKind.Success, admitted.OutcomeKind);
        Assert.Equal("late but fine", ((TextContentBlock)outcome.Result!.Content[0]).Text);
        await Eventually.TrueAsync(() => Overruns.CountFor("probe") == 0, "every overrunning call to have ended");
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
