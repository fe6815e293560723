using System.ComponentModel;
using System.Text.Json;
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

    [McpServerTool(Name = "explode"), Description("Throws an exception carrying a secret.")]
    public static string Explode() => throw new InvalidOperationException("secret-token-abc123 at /home/user/private");

    [McpServerTool(Name = "add"), Description("Adds two integers.")]
    public static long Add(long a, long b) => a + b;
}

/// <summary>Shared state the probe tools report into.</summary>
public sealed class ProbeState
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
