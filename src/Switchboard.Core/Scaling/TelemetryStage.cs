using System.Diagnostics;
using Switchboard.Diagnostics;
using Switchboard.Pipeline;

namespace Switchboard.Scaling;

/// <summary>
/// Outermost stage: one trace span and one count and duration per tool call (tagged with plugin, tool, transport and
/// outcome), and a count per tool list. Being outermost, it also counts calls that later stages refuse.
/// </summary>
internal sealed class TelemetryStage(SwitchboardDiagnostics diagnostics, TimeProvider timeProvider) : GatewayStage
{
    public override string Name => "telemetry";

    public override int Order => StageOrder.Telemetry;

    public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        using var activity = SwitchboardDiagnostics.ActivitySource.StartActivity("tools/call " + context.RequestedName, ActivityKind.Internal);
        activity?.SetTag("mcp.method.name", "tools/call");
        activity?.SetTag("gen_ai.tool.name", context.RequestedName);
        activity?.SetTag("switchboard.transport", context.Transport.ToTagValue());
        try
        {
            var outcome = await continuation(context, cancellationToken);
            if (context.OutcomeKind == ToolCallOutcomeKind.Pending)
            {
                context.OutcomeKind = outcome.IsError
                    ? ToolCallOutcomeKind.ProtocolError
                    : outcome.Result.IsError == true ? ToolCallOutcomeKind.ToolError : ToolCallOutcomeKind.Success;
            }

            return outcome;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.OutcomeKind = ToolCallOutcomeKind.Cancelled;
            throw;
        }
        catch (Exception) when (context.OutcomeKind == ToolCallOutcomeKind.Pending)
        {
            context.OutcomeKind = ToolCallOutcomeKind.ProtocolError;
            throw;
        }
        finally
        {
            Record(context, activity);
        }
    }

    public override async ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        var outcome = "error";
        try
        {
            var result = await continuation(context, cancellationToken);
            outcome = result.IsError ? "protocol_error" : "success";
            return result;
        }
        finally
        {
            if (diagnostics.ToolLists.Enabled)
            {
                diagnostics.ToolLists.Add(1, new TagList { { "transport", context.Transport.ToTagValue() }, { "outcome", outcome } });
            }
        }
    }

    private void Record(ToolCallContext context, Activity? activity)
    {
        var outcome = context.OutcomeKind.ToTagValue();
        var plugin = context.Tool?.Plugin.Name ?? "(unknown)";
        var tool = context.Tool?.Name ?? "(unknown)";
        if (activity is not null)
        {
            activity.SetTag("switchboard.plugin", plugin);
            activity.SetTag("switchboard.plugin.version", context.Tool?.Plugin.Version);
            activity.SetTag("switchboard.outcome", outcome);
            if (context.OutcomeKind is not ToolCallOutcomeKind.Success)
            {
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }

        if (diagnostics.ToolCalls.Enabled || diagnostics.ToolCallDuration.Enabled)
        {
            // Unknown tool names are caller input: never use them as metric labels (unbounded cardinality).
            var tags = new TagList
            {
                { "plugin", plugin },
                { "tool", tool },
                { "transport", context.Transport.ToTagValue() },
                { "outcome", outcome },
            };
            diagnostics.ToolCalls.Add(1, tags);
            diagnostics.ToolCallDuration.Record(timeProvider.GetElapsedTime(context.StartTimestamp).TotalSeconds, tags);
        }
    }
}
