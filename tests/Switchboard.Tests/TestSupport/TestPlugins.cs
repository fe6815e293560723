using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Plugins;

namespace Switchboard.Tests.TestSupport;

/// <summary>Builds catalog inputs for unit tests without a server.</summary>
public static class TestPlugins
{
    public static LoadedPlugin Plugin(string name, params string[] tools) => PluginFrom(name, "1.0.0", $"test source {name}", tools);

    public static LoadedPlugin PluginFrom(string name, string version, string source, params string[] tools)
        => new(name, version, source, null, null, tools.Select(t => new PluginTool(Tool(t), new FixedResultInvoker(t))).ToList());

    public static Tool Tool(string name, string? schemaJson = null) => new()
    {
        Name = name,
        InputSchema = JsonDocument.Parse(schemaJson ?? """{"type":"object"}""").RootElement.Clone(),
    };

    /// <summary>Returns a text result naming the tool; counts invocations.</summary>
    public sealed class FixedResultInvoker(string text) : IToolInvoker
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult(new CallToolResult { Content = [new TextContentBlock { Text = text }] });
        }
    }

    /// <summary>Runs a delegate as the tool body.</summary>
    public sealed class DelegateInvoker(Func<ToolInvocation, CancellationToken, Task<CallToolResult>> body) : IToolInvoker
    {
        public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
            => new(body(invocation, cancellationToken));
    }
}

/// <summary>
/// An in-process plugin for integration tests: a tool that waits until cancelled (and records that it was), a tool that
/// throws, and a tool that returns its arguments.
/// </summary>
[McpServerToolType]
public sealed class ProbeTools(ProbeState state)
{
    public const string PluginName = "probe";

    [McpServerTool(Name = "wait"), Description("Waits until cancelled.")]
    public async Task<string> Wait(CancellationToken cancellationToken)
    {
        state.Started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return "never";
        }
        catch (OperationCanceledException)
        {
            state.Cancelled.TrySetResult();
            throw;
        }
    }

    [McpServerTool(Name = "block"), Description("Blocks its thread until the test releases it, ignoring cancellation.")]
    public string Block()
    {
        Interlocked.Increment(ref state.BlockedCount);
        state.BlockRelease.Wait(TimeSpan.FromMinutes(1), CancellationToken.None);
        Interlocked.Decrement(ref state.BlockedCount);
        return "released";
    }

    [McpServerTool(Name = "explode"), Description("Throws an exception carrying a secret.")]
    public static string Explode() => throw new InvalidOperationException("secret-token-abc123 at /home/user/private");

    [McpServerTool(Name = "add"), Description("Adds two integers.")]
    public static long Add(long a, long b) => a + b;

    [McpServerTool(Name = "gate"), Description("Counts itself as started, then waits until the test opens the gate.")]
    public async Task<string> Gate(string tag, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref state.GateStartedCount);
        var running = Interlocked.Increment(ref state.GateRunning);
        int seen;
        while ((seen = Volatile.Read(ref state.GateMaxRunning)) < running && Interlocked.CompareExchange(ref state.GateMaxRunning, running, seen) != seen)
        {
        }

        state.GateStarted.Release();
        try
        {
            await state.Gate.WaitAsync(cancellationToken);
            return "passed " + tag;
        }
        finally
        {
            Interlocked.Decrement(ref state.GateRunning);
        }
    }

    [McpServerTool(Name = "progress"), Description("Reports progress three times, then returns.")]
    public static string Progress(IProgress<ProgressNotificationValue> progress)
    {
        for (var i = 1; i <= 3; i++)
        {
            progress.Report(new ProgressNotificationValue { Progress = i, Total = 3, Message = $"step {i}" });
        }

        return "done";
    }
}

/// <summary>Shared state the probe tools report into.</summary>
public sealed class ProbeState
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Holds <c>probe_gate</c> calls until released.</summary>
    public SemaphoreSlim Gate { get; } = new(0);

    /// <summary>Holds <c>probe_block</c> calls (on their threads) until set.</summary>
    public ManualResetEventSlim BlockRelease { get; } = new();

    /// <summary>Released once per <c>probe_gate</c> call that started.</summary>
    public SemaphoreSlim GateStarted { get; } = new(0);

#pragma warning disable CA1051 // Interlocked needs a field.
    public int GateStartedCount;

    public int GateRunning;

    public int GateMaxRunning;

    public int BlockedCount;
#pragma warning restore CA1051
}

/// <summary>A plugin source whose plugins a test can change, then reload the catalog.</summary>
public sealed class MutablePluginSource : IPluginSource
{
    private volatile IReadOnlyList<LoadedPlugin> _plugins = [];

    public void Set(params LoadedPlugin[] plugins) => _plugins = plugins;

    public ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_plugins);
}
