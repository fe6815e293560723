using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Compliance.Audit;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Security;

namespace Switchboard.Compliance;

/// <summary>
/// Position 700: masks arguments before the plugin runs (or refuses the call when the policy says block), then — as
/// the last step before the plugin — writes the durable intent record. With <see cref="AuditOptions.FailClosed"/>, a
/// call whose intent cannot be written does not run.
/// </summary>
internal sealed partial class InboundMaskingStage(
    MaskingEngine engine,
    AuditSummarizer summarizer,
    AuditLog log,
    AuditRecordFactory records,
    ToolAccess access,
    IOptions<ComplianceOptions> options,
    ILogger<InboundMaskingStage> logger) : GatewayStage
{
    public override string Name => "mask-inbound";

    public override int Order => StageOrder.InboundMasking;

    public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        var masking = options.Value.MaskingEnabled;
        if (!masking && !log.Enabled)
        {
            return await continuation(context, cancellationToken);
        }

        var state = context.Compliance ??= new ComplianceCallState();
        var tool = context.Tool!;
        var arguments = AuditSummarizer.ToNode(context.Arguments);
        if (log.Enabled)
        {
            (state.ArgumentsDigest, state.ArgumentsSummary) = summarizer.Describe(arguments);
        }

        if (masking)
        {
            var report = engine.Apply(arguments, new MaskingScope(tool.Plugin.Name, tool.LocalName, MaskingDirection.Arguments, context.ConversationId, TenantOf(context)));
            state.Arguments = report;
            if (report.Blocked is { } blocked)
            {
                state.Blocked = true;
                context.OutcomeKind = ToolCallOutcomeKind.Denied;
                Log.Blocked(logger, tool.Name, "arguments", blocked.Entity, PrincipalOf(context));
                return ToolCallOutcome.ToolErrorResult(
                    $"Refused by data policy: the arguments contain data of class '{blocked.Class.ToName()}' ({blocked.Entity}), which tool '{tool.Name}' may not receive. " +
                    "Remove that value and call again.");
            }

            if (report.Changed)
            {
                context.Arguments = AuditSummarizer.FromNode(arguments);
            }
        }

        if (log.Enabled)
        {
            try
            {
                state.IntentSequence = await log.AppendAsync(records.Intent(context, state), cancellationToken);
            }
            catch (AuditUnavailableException) when (log.FailClosed)
            {
                state.AuditUnavailable = true;
                context.OutcomeKind = ToolCallOutcomeKind.ProtocolError;
                return GatewayError.AuditUnavailable();
            }
            catch (AuditUnavailableException ex)
            {
                Log.IntentNotWritten(logger, tool.Name, ex.Message);
            }
        }

        return await continuation(context, cancellationToken);
    }

    private string? TenantOf(ToolCallContext context)
        => access.Caller(context.User, context.Transport)?.FindFirst(SwitchboardClaims.Tenant)?.Value;

    private string PrincipalOf(ToolCallContext context)
        => access.Caller(context.User, context.Transport)?.FindFirst(SwitchboardClaims.Subject)?.Value ?? "(anonymous)";

    private static partial class Log
    {
        [LoggerMessage(EventId = 7101, EventName = "DataPolicyBlocked", Level = LogLevel.Information, Message = "Data policy blocked the {Direction} of {Tool} ({Entity}) for {Principal}")]
        public static partial void Blocked(ILogger logger, string tool, string direction, string entity, [PrivateData] string principal);

        [LoggerMessage(EventId = 7102, EventName = "AuditIntentNotWritten", Level = LogLevel.Error, Message = "Audit intent of {Tool} not written ({Reason}); running it anyway (FailClosed is off)")]
        public static partial void IntentNotWritten(ILogger logger, string tool, string reason);
    }
}

/// <summary>
/// Position 1000: masks results before the caller sees them (innermost on the way out), or withholds a result that
/// holds a blocked data class. Also takes the digest and masked summary of the result as the plugin returned it.
/// </summary>
internal sealed class OutboundMaskingStage(MaskingEngine engine, AuditSummarizer summarizer, AuditLog log, ToolAccess access, IOptions<ComplianceOptions> options) : GatewayStage
{
    private static readonly JsonTypeInfo<CallToolResult> s_resultType =
        (JsonTypeInfo<CallToolResult>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult));

    public override string Name => "mask-outbound";

    public override int Order => StageOrder.OutboundMasking;

    public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        var outcome = await continuation(context, cancellationToken);
        var masking = options.Value.MaskingEnabled;
        if (outcome.IsError || (!masking && !log.Enabled))
        {
            return outcome;
        }

        var state = context.Compliance ??= new ComplianceCallState();
        var node = JsonSerializer.SerializeToNode(outcome.Result, s_resultType)!;
        if (log.Enabled)
        {
            (state.ResultDigest, state.ResultSummary) = summarizer.Describe(node);
        }

        if (!masking)
        {
            return outcome;
        }

        var tool = context.Tool!;
        if (IsConversationOpen(tool))
        {
            return outcome;
        }

        var tenant = access.Caller(context.User, context.Transport)?.FindFirst(SwitchboardClaims.Tenant)?.Value;
        var report = engine.Apply(node, new MaskingScope(tool.Plugin.Name, tool.LocalName, MaskingDirection.Results, context.ConversationId, tenant));
        state.Results = report;
        if (report.Blocked is { } blocked)
        {
            state.Blocked = true;
            context.OutcomeKind = ToolCallOutcomeKind.ToolError;
            return ToolCallOutcome.ToolErrorResult(
                $"The result of '{tool.Name}' was withheld by data policy: it contains data of class '{blocked.Class.ToName()}' ({blocked.Entity}).");
        }

        return report.Changed ? node.Deserialize(s_resultType)! : outcome;
    }

    /// <summary>
    /// The built-in <c>conversation_open</c> returns nothing but the handle the gateway has just minted for this caller.
    /// A handle is a signed JWS, which the secret detectors rightly take for a JWT; masking it would leave the caller
    /// with an unusable conversation. The plugin name is reserved: the conversations feature always registers it, and
    /// a second plugin of the same name fails start-up.
    /// </summary>
    private static bool IsConversationOpen(CatalogTool tool)
        => string.Equals(tool.Plugin.Name, Conversations.ConversationTools.PluginName, StringComparison.Ordinal)
            && string.Equals(tool.LocalName, "open", StringComparison.Ordinal);
}
