using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Compliance.Masking;
using Switchboard.Pipeline;
using Switchboard.Security;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// Builds audit records. A record holds who (principal, client, tenant, transport, conversation), what (plugin, version,
/// tool), the decision and outcome, digests and masked summaries, PII counts per data class and the masking decisions,
/// latency and trace id. Never a raw token, secret or unmasked value: free text from the caller goes through
/// <see cref="AuditSummarizer"/> first.
/// </summary>
public sealed class AuditRecordFactory(ToolAccess access, IOptions<SecurityOptions> security, AuditSummarizer summarizer, AuditLog log, TimeProvider timeProvider)
{
    public JsonObject Intent(ToolCallContext context, ComplianceCallState state)
    {
        var record = Common("call.intent", context.User, context.Transport, context.ConversationId);
        AddTool(record, context);
        AddDirection(record, "arguments", state.ArgumentsDigest, state.ArgumentsSummary, state.Arguments);
        return record;
    }

    /// <summary>The record that closes a call: its outcome, or the whole story of a call refused before its intent.</summary>
    public JsonObject Outcome(ToolCallContext context, ComplianceCallState state, ToolCallOutcome? outcome, string? failure)
    {
        var kind = state.IntentSequence is null ? "call" : "call.outcome";
        var record = Common(kind, context.User, context.Transport, context.ConversationId);
        AddTool(record, context);
        if (state.IntentSequence is { } intent)
        {
            record["intent"] = intent;
        }
        else
        {
            if (state.ArgumentsDigest is null && context.Arguments is not null)
            {
                (state.ArgumentsDigest, state.ArgumentsSummary) = summarizer.Describe(AuditSummarizer.ToNode(context.Arguments));
            }

            AddDirection(record, "arguments", state.ArgumentsDigest, state.ArgumentsSummary, state.Arguments);
        }

        record["decision"] = Decision(context, state);
        record["outcome"] = context.OutcomeKind == ToolCallOutcomeKind.Pending && failure is null
            ? (outcome is { IsError: true } ? "protocol_error" : outcome?.Result?.IsError == true ? "tool_error" : "success")
            : context.OutcomeKind.ToTagValue();
        if (outcome is { IsError: true } error)
        {
            record["error"] = error.Error.Kind.ToString();
        }

        if (failure is not null)
        {
            record["failure"] = failure;
        }

        AddDirection(record, "result", state.ResultDigest, state.ResultSummary, state.Results);
        if (state.Arguments is { } arguments && (arguments.TokensResolved > 0 || arguments.TokensUnresolved > 0))
        {
            record["tokens"] = new JsonObject { ["resolved"] = arguments.TokensResolved, ["unresolved"] = arguments.TokensUnresolved };
        }

        var fallbacks = (state.Results?.TokenizeFallbacks ?? 0) + (state.Arguments?.TokenizeFallbacks ?? 0);
        if (fallbacks > 0)
        {
            record["tokenizeFallback"] = new JsonObject { ["count"] = fallbacks, ["reason"] = "no conversation: redacted instead" };
        }

        record["latencyUs"] = (long)timeProvider.GetElapsedTime(context.StartTimestamp).TotalMicroseconds;
        return record;
    }

    /// <summary>A call the HTTP layer refused for a missing scope before it reached the pipeline (403 step-up challenge).</summary>
    public JsonObject ScopeDenial(ClaimsPrincipal user, Plugins.CatalogTool tool, string requiredScope)
    {
        var record = Common("call", user, GatewayTransport.StreamableHttp, null);
        record["plugin"] = tool.Plugin.Name;
        record["pluginVersion"] = tool.Plugin.Version;
        record["tool"] = tool.Name;
        record["decision"] = "denied";
        record["outcome"] = ToolCallOutcomeKind.Denied.ToTagValue();
        record["error"] = Pipeline.GatewayErrorKind.Forbidden.ToString();
        record["requiredScope"] = requiredScope;
        return record;
    }

    public JsonObject List(ToolListContext context, ToolListOutcome? outcome, string? failure)
    {
        var record = Common("list", context.User, context.Transport, context.ConversationId);
        record["outcome"] = failure ?? (outcome is { IsError: true } ? "protocol_error" : "success");
        if (outcome is { IsError: false } listed)
        {
            record["tools"] = listed.Tools.Count;
        }
        else if (outcome is { IsError: true } error)
        {
            record["error"] = error.Error.Kind.ToString();
            record["decision"] = error.Error.Kind is Pipeline.GatewayErrorKind.Unauthenticated or Pipeline.GatewayErrorKind.Forbidden ? "denied" : "refused";
        }

        record["latencyUs"] = (long)timeProvider.GetElapsedTime(context.StartTimestamp).TotalMicroseconds;
        return record;
    }

    private static string Decision(ToolCallContext context, ComplianceCallState state)
    {
        if (state.AuditUnavailable)
        {
            return "refused_audit_unavailable";
        }

        if (state.Blocked)
        {
            return "blocked";
        }

        if (context.OutcomeKind == ToolCallOutcomeKind.Denied)
        {
            return "denied";
        }

        if (context.OutcomeKind == ToolCallOutcomeKind.RateLimited)
        {
            return "rate_limited";
        }

        if (context.Tool is null)
        {
            return "unknown_tool";
        }

        return state.IntentSequence is null ? "refused" : "allowed";
    }

    private JsonObject Common(string kind, ClaimsPrincipal? user, GatewayTransport transport, string? conversation)
    {
        var record = new JsonObject { ["kind"] = kind, ["time"] = log.Now(), ["transport"] = transport.ToTagValue() };
        var caller = access.Caller(user, transport);
        if (caller is not null)
        {
            // The subject can itself be personal data (an e-mail); it is kept, as the record's purpose is to say who.
            Set(record, "principal", caller.FindFirst(SwitchboardClaims.Subject)?.Value);
            Set(record, "client", caller.FindFirst(SwitchboardClaims.ClientId)?.Value);
            Set(record, "tenant", caller.FindFirst(SwitchboardClaims.Tenant)?.Value ?? caller.FindFirst(security.Value.TenantClaim)?.Value);
        }

        Set(record, "conversation", conversation);
        if (Activity.Current is { } activity)
        {
            record["traceId"] = activity.TraceId.ToHexString();
        }

        return record;
    }

    private void AddTool(JsonObject record, ToolCallContext context)
    {
        if (context.Tool is { } tool)
        {
            record["plugin"] = tool.Plugin.Name;
            record["pluginVersion"] = tool.Plugin.Version;
            record["tool"] = tool.Name;
        }
        else
        {
            // Not a tool of ours: the name is caller input, so it is masked like any other.
            record["requestedTool"] = summarizer.Summarize(Pipeline.GatewayError.Printable(context.RequestedName));
        }
    }

    private static void AddDirection(JsonObject record, string name, string? digest, string? summary, MaskingReport? report)
    {
        if (digest is null && report is null)
        {
            return;
        }

        var section = new JsonObject();
        Set(section, "digest", digest);
        Set(section, "summary", summary);
        if (report is not null)
        {
            var counts = new JsonObject();
            foreach (var (dataClass, count) in report.CountsByClass)
            {
                counts[dataClass] = count;
            }

            section["pii"] = counts;
            var decisions = new JsonArray();
            foreach (var decision in report.Decisions)
            {
                decisions.Add((JsonNode)new JsonObject
                {
                    ["entity"] = decision.Entity,
                    ["class"] = decision.DataClass,
                    ["action"] = decision.Action,
                    ["field"] = decision.Field,
                    ["count"] = decision.Count,
                });
            }

            if (decisions.Count > 0)
            {
                section["masking"] = decisions;
            }
        }

        record[name] = section;
    }

    private static void Set(JsonObject record, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            record[name] = value;
        }
    }
}
