using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Pipeline;

namespace Switchboard.Plugins;

/// <summary>
/// The last step of the pipeline: checks the arguments, runs the tool under its timeout and turns every way a tool
/// can end into a result. A tool that overruns gets its work cancelled and the caller an <c>isError</c> result naming
/// the timeout, even if the tool ignores cancellation or blocks its thread: the tool runs on a thread-pool thread of
/// its own, never on the caller's. Work that goes on after its caller was answered is counted per plugin
/// (<see cref="OverrunningToolCalls"/>), and a plugin with too much of it refuses new calls.
/// </summary>
public sealed partial class PluginInvocationHandler(TimeProvider timeProvider, OverrunningToolCalls overruns, ILogger<PluginInvocationHandler> logger)
{
    public async ValueTask<ToolCallOutcome> InvokeAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tool = context.Tool ?? throw new InvalidOperationException("The tool was not resolved before invocation.");

        if (!ToolArgumentValidator.TryValidate(tool.ProtocolTool.InputSchema, context.Arguments, out var problem))
        {
            context.OutcomeKind = ToolCallOutcomeKind.InvalidArguments;
            return ToolCallOutcome.ToolErrorResult($"Invalid arguments for tool '{tool.Name}': {problem}");
        }

        if (overruns.IsAtLimit(tool, out var overrunning))
        {
            context.OutcomeKind = ToolCallOutcomeKind.ToolError;
            return ToolCallOutcome.ToolErrorResult(
                $"Tool '{tool.Name}' is not taking calls: {overrunning} earlier calls to plugin '{tool.Plugin.Name}' are still running " +
                "after their timeout or cancellation. Try again later, or ask the operator to look at the plugin.");
        }

        var invocation = new ToolInvocation
        {
            Tool = tool,
            Arguments = context.Arguments,
            Meta = context.Meta,
            ProgressToken = context.ProgressToken,
            McpRequest = context.McpRequest,
            Services = context.Services ?? context.McpRequest?.Services,
            PluginMeta = context.PluginMeta,
            CallerCancellationToken = cancellationToken,
        };

        using var timeout = new CancellationTokenSource(tool.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        // By default the tool starts on a pool thread: one that blocks (a synchronous driver call, Thread.Sleep) before
        // its first await would otherwise hold the caller past its deadline, as WaitAsync below could not be reached.
        // Plugins that never block start inline, which lets a tool that finishes at once complete the request
        // synchronously (the hop costs up to a third of Streamable HTTP throughput; docs/benchmarks.md). A call whose
        // deadline or caller is gone before a pool thread takes it up never starts.
        var work = tool.Execution == ToolExecution.Inline
            ? StartInline(tool, invocation, linked.Token)
            : Task.Run(() => tool.Invoker.InvokeAsync(invocation, linked.Token).AsTask(), linked.Token);

        try
        {
            // WaitAsync returns when the deadline passes even if the tool ignores its cancellation token.
            var result = await work.WaitAsync(linked.Token);
            context.OutcomeKind = result.IsError == true ? ToolCallOutcomeKind.ToolError : ToolCallOutcomeKind.Success;
            return result;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            context.OutcomeKind = ToolCallOutcomeKind.Timeout;
            overruns.Track(tool, work);
            if (logger.IsEnabled(LogLevel.Warning))
            {
                Log.ToolTimedOut(logger, tool.Name, tool.Timeout.TotalMilliseconds);
            }
            return ToolCallOutcome.ToolErrorResult(
                $"Tool '{tool.Name}' timed out after {FormatDuration(tool.Timeout)} and was cancelled. " +
                "Try again with a smaller request, or ask the operator to raise the tool's timeout.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.OutcomeKind = ToolCallOutcomeKind.Cancelled;
            overruns.Track(tool, work);
            throw;
        }
        catch (InputRequiredException)
        {
            // MCP 2026-07-28 multi-round-trip: the tool asks the client for input; the SDK turns this into the result.
            context.OutcomeKind = ToolCallOutcomeKind.InputRequired;
            throw;
        }
        catch (McpProtocolException)
        {
            context.OutcomeKind = ToolCallOutcomeKind.ProtocolError;
            throw;
        }
        catch (McpException ex)
        {
            // McpException messages are written for the caller by the tool author.
            context.OutcomeKind = ToolCallOutcomeKind.ToolError;
            return ToolCallOutcome.ToolErrorResult($"Tool '{tool.Name}' failed: {ex.Message}");
        }
        catch (JsonException ex)
        {
            // The SDK binds arguments to the method's parameters with System.Text.Json: a shape the top-level schema
            // check could not see (a nested member of the wrong type) surfaces here.
            context.OutcomeKind = ToolCallOutcomeKind.InvalidArguments;
            if (logger.IsEnabled(LogLevel.Information))
            {
                Log.ToolRejectedArguments(logger, tool.Name, ex.GetType().Name);
            }
            return ToolCallOutcome.ToolErrorResult(
                $"Invalid arguments for tool '{tool.Name}': the values could not be used. Check them against the tool's input schema.");
        }
        catch (Exception ex)
        {
            context.OutcomeKind = ToolCallOutcomeKind.ToolError;
            if (logger.IsEnabled(LogLevel.Warning))
            {
                Log.ToolFailed(logger, tool.Name, ex.GetType().Name, ex);
            }
            return ToolCallOutcome.ToolErrorResult($"Tool '{tool.Name}' failed with an internal error.");
        }
    }

    private static Task<CallToolResult> StartInline(CatalogTool tool, ToolInvocation invocation, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<CallToolResult>(cancellationToken);
        }

        try
        {
            return tool.Invoker.InvokeAsync(invocation, cancellationToken).AsTask();
        }
        catch (Exception ex)
        {
            return Task.FromException<CallToolResult>(ex);
        }
    }

    internal static string FormatDuration(TimeSpan duration) => duration.TotalSeconds >= 1
        ? $"{duration.TotalSeconds:0.###} s"
        : $"{duration.TotalMilliseconds:0} ms";

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, EventName = "ToolTimedOut", Level = LogLevel.Warning, Message = "Tool {Tool} timed out after {TimeoutMs} ms and was cancelled")]
        public static partial void ToolTimedOut(ILogger logger, string tool, double timeoutMs);

        [LoggerMessage(EventId = 2002, EventName = "ToolFailed", Level = LogLevel.Warning, Message = "Tool {Tool} threw {ExceptionType}")]
        public static partial void ToolFailed(ILogger logger, string tool, string exceptionType, Exception exception);

        [LoggerMessage(EventId = 2003, EventName = "ToolRejectedArguments", Level = LogLevel.Information, Message = "Tool {Tool} rejected its arguments ({ExceptionType})")]
        public static partial void ToolRejectedArguments(ILogger logger, string tool, string exceptionType);
    }
}
