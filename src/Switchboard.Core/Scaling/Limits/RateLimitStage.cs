using Switchboard.Pipeline;
using Switchboard.Security;

namespace Switchboard.Scaling.Limits;

/// <summary>
/// Pipeline stage: rate limits and bulkheads (<see cref="CallLimiter"/>). It sits after authorization, so a refused
/// caller spends nothing, and before inbound masking and the audit intent, so a call turned away here costs no fsync and
/// is recorded once, as <c>rate_limited</c>. The refusal is a value: JSON-RPC error -32029 with <c>retryAfterSeconds</c>
/// in its data, or REST 429 with <c>Retry-After</c>. <c>tools/list</c> is not limited.
/// </summary>
internal sealed class RateLimitStage(CallLimiter limiter, ToolAccess access) : GatewayStage
{
    public override string Name => "rate-limit";

    public override int Order => StageOrder.RateLimit;

    public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        return limiter.IsActive ? LimitedAsync(context, continuation, cancellationToken) : continuation(context, cancellationToken);
    }

    private async ValueTask<ToolCallOutcome> LimitedAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        using var admission = await limiter.AdmitAsync(access.Caller(context.User, context.Transport), context.Tool!.Plugin.Name, cancellationToken);
        if (admission.Refusal is { } refusal)
        {
            context.OutcomeKind = ToolCallOutcomeKind.RateLimited;
            return ToolCallOutcome.FromError(refusal);
        }

        return await continuation(context, cancellationToken);
    }
}
