using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Switchboard.Pipeline;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// Position 200: wraps everything after telemetry, so every call and list is recorded — including those authorization
/// denies or masking blocks. A call that got as far as its intent record is closed by an outcome record; one refused
/// earlier gets a single <c>call</c> record. The tool result carries the closing record's sequence number in
/// <c>_meta["dev.switchboard/audit"]</c>; <c>GET /audit/proof/{seq}</c> returns its inclusion proof.
/// </summary>
internal sealed partial class AuditStage(AuditLog log, AuditRecordFactory records, ILogger<AuditStage> logger) : GatewayStage
{
    public const string MetaKey = "dev.switchboard/audit";

    public override string Name => "audit";

    public override int Order => StageOrder.Audit;

    public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        if (!log.Enabled)
        {
            return await continuation(context, cancellationToken);
        }

        var state = context.Compliance = new ComplianceCallState();
        ToolCallOutcome outcome;
        try
        {
            outcome = await continuation(context, cancellationToken);
        }
        catch (Exception ex)
        {
            await TryAppendAsync(records.Outcome(context, state, null, ex is OperationCanceledException ? "cancelled" : "exception"), context.RequestedName);
            throw;
        }

        var sequence = await TryAppendAsync(records.Outcome(context, state, outcome, null), context.RequestedName);
        if (sequence is { } seq && !outcome.IsError)
        {
            var result = outcome.Result;
            result.Meta ??= new JsonObject();
            result.Meta[MetaKey] = seq;
        }

        return outcome;
    }

    public override async ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        if (!log.Enabled)
        {
            return await continuation(context, cancellationToken);
        }

        ToolListOutcome outcome;
        try
        {
            outcome = await continuation(context, cancellationToken);
        }
        catch (Exception ex)
        {
            await TryAppendAsync(records.List(context, null, ex is OperationCanceledException ? "cancelled" : "exception"), "tools/list");
            throw;
        }

        await TryAppendAsync(records.List(context, outcome, null), "tools/list");
        return outcome;
    }

    /// <summary>
    /// Closing records are written whatever happened to the request (even if the caller has gone), so they do not take the
    /// request's cancellation. A failure here cannot undo a call that already ran; it is logged, and the next start
    /// marks the call incomplete.
    /// </summary>
    private async Task<long?> TryAppendAsync(JsonObject record, string what)
    {
        try
        {
            return await log.AppendAsync(record, CancellationToken.None);
        }
        catch (AuditUnavailableException ex)
        {
            Log.RecordNotWritten(logger, what, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Records a call refused by the HTTP layer's insufficient-scope challenge (it never reaches the pipeline). Returns
    /// false when the log is on but the record could not be written.
    /// </summary>
    internal static async Task<bool> RecordScopeDenialAsync(IServiceProvider services, System.Security.Claims.ClaimsPrincipal user, Plugins.CatalogTool tool, string requiredScope)
    {
        if (services.GetService(typeof(AuditLog)) is not AuditLog { Enabled: true } log || services.GetService(typeof(AuditRecordFactory)) is not AuditRecordFactory records)
        {
            return true;
        }

        try
        {
            await log.AppendAsync(records.ScopeDenial(user, tool, requiredScope), CancellationToken.None);
            return true;
        }
        catch (AuditUnavailableException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7201, EventName = "AuditRecordNotWritten", Level = LogLevel.Error, Message = "Audit record of {What} not written: {Reason}")]
        public static partial void RecordNotWritten(ILogger logger, string what, string reason);
    }
}
