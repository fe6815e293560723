using Microsoft.AspNetCore.Http;
using Switchboard.Pipeline;

namespace Switchboard.Tests.TestSupport;

/// <summary>
/// TEST ONLY, until the conversations branch merges: stands in for the real conversation identity stage at order 300.
/// Takes the conversation id unverified from <c>_meta["dev.switchboard/conversation"]</c> (MCP over HTTP and WebSocket)
/// or the <c>Switchboard-Conversation</c> header (REST), so tokenize scoping can be tested end to end. The integrator
/// replaces it with the real stage after the merge.
/// </summary>
public sealed class TestConversationStage(IHttpContextAccessor http) : GatewayStage
{
    public const string MetaKey = "dev.switchboard/conversation";
    public const string Header = "Switchboard-Conversation";

    public override string Name => "test-conversation";

    public override int Order => StageOrder.ConversationIdentity;

    public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        context.ConversationId ??= Read(context.Meta);
        return continuation(context, cancellationToken);
    }

    public override ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        context.ConversationId ??= Read(null);
        return continuation(context, cancellationToken);
    }

    private string? Read(System.Text.Json.Nodes.JsonObject? meta)
    {
        if (meta?[MetaKey] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var fromMeta))
        {
            return fromMeta;
        }

        return http.HttpContext?.Request.Headers[Header] is { Count: > 0 } header ? header.ToString() : null;
    }
}
