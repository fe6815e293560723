using Switchboard.Pipeline;

namespace Switchboard.Plugins;

/// <summary>Resolves the requested tool name against the request's catalog snapshot; an unknown name ends the call.</summary>
internal sealed class ToolResolutionStage : GatewayStage
{
    public override string Name => "resolve-tool";

    public override int Order => StageOrder.ToolResolution;

    public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        if (context.Tool is null)
        {
            if (!context.Catalog.TryGetTool(context.RequestedName, out var tool))
            {
                context.OutcomeKind = ToolCallOutcomeKind.ProtocolError;
                return ValueTask.FromResult(ToolCallOutcome.FromError(GatewayError.UnknownTool(context.RequestedName)));
            }

            context.Tool = tool;
        }

        return continuation(context, cancellationToken);
    }
}
