namespace Switchboard.Pipeline;

/// <summary>Continues a <c>tools/call</c> with the rest of the pipeline.</summary>
public delegate ValueTask<ToolCallOutcome> ToolCallHandler(ToolCallContext context, CancellationToken cancellationToken);

/// <summary>Continues a <c>tools/list</c> with the rest of the pipeline.</summary>
public delegate ValueTask<ToolListOutcome> ToolListHandler(ToolListContext context, CancellationToken cancellationToken);

/// <summary>
/// One stage of the message pipeline. Stages are composed once at start, ordered by <see cref="Order"/> (lowest is
/// outermost), and every stage sees both <c>tools/list</c> and <c>tools/call</c> so that one policy decides both.
/// A stage that has nothing to do for a request returns <c>continuation(...)</c> directly: that is its fast path.
/// </summary>
public abstract class GatewayStage
{
    /// <summary>A short name for logs and diagnostics.</summary>
    public abstract string Name { get; }

    /// <summary>The stage's position; see <see cref="StageOrder"/>. Lower values wrap higher ones.</summary>
    public abstract int Order { get; }

    public virtual ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context, cancellationToken);
    }

    public virtual ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context, cancellationToken);
    }
}

/// <summary>
/// The fixed order of the pipeline (see ARCHITECTURE.md). Gaps leave room for stages that later issues add in between.
/// On the way back out the order reverses, so outbound work (masking results, budgets) sits innermost.
/// </summary>
public static class StageOrder
{
    /// <summary>Metrics and tracing: outermost, so every request is counted, including denials.</summary>
    public const int Telemetry = 100;

    /// <summary>Audit record of every call and list, including denials.</summary>
    public const int Audit = 200;

    /// <summary>
    /// Resolve and verify the conversation handle (bound to the caller), so that masking vaults, audit and the state
    /// gate all see the same conversation.
    /// </summary>
    public const int ConversationIdentity = 300;

    /// <summary>Resolve the requested name to a catalog entry (unknown tool becomes an error here).</summary>
    public const int ToolResolution = 400;

    /// <summary>Scopes, tools and argument rules.</summary>
    public const int Authorization = 500;

    /// <summary>Rate limits and bulkheads.</summary>
    public const int RateLimit = 600;

    /// <summary>PII in arguments.</summary>
    public const int InboundMasking = 700;

    /// <summary>Conversation state machine gate and state commit.</summary>
    public const int Conversation = 800;

    /// <summary>Result size budget.</summary>
    public const int ContextBudget = 900;

    /// <summary>PII in results.</summary>
    public const int OutboundMasking = 1000;

    /// <summary>Pick and pin the plugin version.</summary>
    public const int ReleaseRouting = 1100;
}
