using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using Switchboard.Diagnostics;

namespace Switchboard.Plugins;

/// <summary>
/// Counts, per plugin, the calls whose caller already has its answer — a timeout, or a cancellation — while the tool
/// is still running because it does not observe its cancellation token (a blocking driver call, a busy loop). .NET
/// cannot stop such work from outside, so the gateway bounds it instead: once a plugin has
/// <see cref="CatalogTool.MaxOverrunningCalls"/> of them, its tools refuse new calls until some end. Without the bound
/// a tool that hangs on every call would take one more thread (or socket, or buffer) per retry, for good.
/// </summary>
/// <remarks>
/// The check and the count are not one atomic step: calls already past the check when the limit is reached can still
/// overrun, so the number can exceed the limit by the calls in flight at that moment, which other limits bound.
/// Counts are kept by plugin name, so they survive a catalog reload that replaces the plugin's tools.
/// </remarks>
public sealed partial class OverrunningToolCalls(SwitchboardDiagnostics diagnostics, TimeProvider timeProvider, ILogger<OverrunningToolCalls> logger)
{
    private readonly ConcurrentDictionary<string, StrongBox<int>> _byPlugin = new(StringComparer.Ordinal);

    /// <summary>How many calls of <paramref name="plugin"/> are running past the answer their caller got.</summary>
    public int CountFor(string plugin)
        => _byPlugin.TryGetValue(plugin, out var count) ? Volatile.Read(ref count.Value) : 0;

    /// <summary>True when <paramref name="tool"/>'s plugin is at its bound; <paramref name="running"/> says how many overrun.</summary>
    internal bool IsAtLimit(CatalogTool tool, out int running)
    {
        running = CountFor(tool.Plugin.Name);
        return running >= tool.MaxOverrunningCalls;
    }

    /// <summary>
    /// Starts counting <paramref name="work"/>, a call of <paramref name="tool"/> whose caller was just answered,
    /// until it ends. Work that has already ended is not counted (its exception is observed).
    /// </summary>
    internal void Track(CatalogTool tool, Task<CallToolResult> work)
    {
        if (work.IsCompleted)
        {
            _ = work.Exception;
            return;
        }

        var count = _byPlugin.GetOrAdd(tool.Plugin.Name, static _ => new StrongBox<int>());
        var running = Interlocked.Increment(ref count.Value);
        var tags = new TagList { { "plugin", tool.Plugin.Name }, { "tool", tool.Name } };
        diagnostics.OverrunningToolCalls.Add(1, tags);
        if (running == tool.MaxOverrunningCalls && logger.IsEnabled(LogLevel.Warning))
        {
            Log.PluginReachedLimit(logger, tool.Plugin.Name, running);
        }

        var call = new TrackedCall(this, tool, count, tags, timeProvider.GetTimestamp());
        _ = work.ContinueWith(
            static (t, state) =>
            {
                var call = (TrackedCall)state!;
                call.Owner.Ended(call, t);
            },
            call,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Ended(TrackedCall call, Task<CallToolResult> work)
    {
        var left = Interlocked.Decrement(ref call.Count.Value);
        diagnostics.OverrunningToolCalls.Add(-1, call.Tags);
        if (!logger.IsEnabled(LogLevel.Information))
        {
            _ = work.Exception;
            return;
        }

        var ending = work.Status switch
        {
            TaskStatus.RanToCompletion => "a result",
            TaskStatus.Faulted when work.Exception!.InnerException is { } inner and not OperationCanceledException => inner.GetType().Name,
            _ => "its cancellation",
        };
        Log.OverrunEnded(logger, call.Tool.Name, timeProvider.GetElapsedTime(call.AnsweredAt).TotalMilliseconds, ending, left);
    }

    private sealed record TrackedCall(OverrunningToolCalls Owner, CatalogTool Tool, StrongBox<int> Count, TagList Tags, long AnsweredAt);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2005, EventName = "PluginReachedOverrunLimit", Level = LogLevel.Warning, Message = "Plugin {Plugin} has {Running} calls still running after their callers were answered; its tools refuse new calls until some end")]
        public static partial void PluginReachedLimit(ILogger logger, string plugin, int running);

        [LoggerMessage(EventId = 2006, EventName = "OverrunningCallEnded", Level = LogLevel.Information, Message = "Tool {Tool} ended {LateMs} ms after its caller was answered, with {Ending}; {Left} of its plugin's calls still overrun")]
        public static partial void OverrunEnded(ILogger logger, string tool, double lateMs, string ending, int left);
    }
}
