using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Pipeline;
using Switchboard.Security;
using Switchboard.Transports.Mcp;

namespace Switchboard.Conversations;

/// <summary>
/// Pipeline stage (300): finds the conversation a request belongs to and verifies it, so every later stage (masking
/// vaults, audit, the state gate) sees the same verified <see cref="ToolCallContext.ConversationId"/>.
/// <list type="bullet">
/// <item>an explicit handle: <c>_meta["dev.switchboard/conversation"]</c>, the REST header <c>Switchboard-Conversation</c>,
/// or the <c>conversation_handle</c> argument, in that order; it must verify, belong to the caller and name a live
/// conversation, or the call is refused (without saying which of these failed);</item>
/// <item>otherwise an implicit one: 2025-11-25 Streamable HTTP sessions, WebSocket and stdio connections get one
/// conversation each, minted on first use and bound to the connection and its caller.</item>
/// </list>
/// Calls made inside a conversation get its handle echoed in their result's <c>_meta</c>.
/// </summary>
internal sealed class ConversationIdentityStage(
    ConversationEngine engine,
    ConversationHandles handles,
    ToolAccess access,
    TimeProvider timeProvider) : GatewayStage
{
    /// <summary>The text of every refused handle: the same whatever the reason, so it reveals nothing about the owner.</summary>
    internal const string RefusedHandleMessage =
        "The conversation handle is not valid for this caller: it is malformed, was not issued by this server, belongs to " +
        "another caller, or the conversation has expired. Call conversation_open to start a new conversation and use the handle it returns.";

    // Keyed by transport and session id: the McpServer a request sees is a per-request wrapper, the session id is not.
    private readonly ConcurrentDictionary<string, ImplicitConversation> _implicit = new(StringComparer.Ordinal);
    private int _bindingsAdded;

    public override string Name => "conversation-identity";

    public override int Order => StageOrder.ConversationIdentity;

    public override async ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var handle = TakeHandle(context);
        var caller = access.Caller(context.User, context.Transport);
        if (access.IsEnforced && caller is null)
        {
            // Authorization refuses the call; there is no caller to bind a conversation to.
            return await continuation(context, cancellationToken);
        }

        var owner = ConversationPrincipal.KeyOf(caller);
        var actor = await ResolveAsync(handle, owner, context.McpRequest?.Server, context.Transport, context.ProtocolVersion, cancellationToken);
        if (actor is null && handle is not null)
        {
            context.OutcomeKind = ToolCallOutcomeKind.Denied;
            return ToolCallOutcome.ToolErrorResult(RefusedHandleMessage);
        }

        if (actor is null)
        {
            return await continuation(context, cancellationToken);
        }

        context.ConversationId = actor.Id;
        var outcome = await continuation(context, cancellationToken);
        if (!outcome.IsError && actor.Current is not null && context.Tool?.Plugin.Name != ConversationTools.PluginName)
        {
            var meta = outcome.Result.Meta ??= [];
            meta[ConversationProtocol.HandleMetaKey] = ConversationEngine.HandleFor(actor, handles);
        }

        return outcome;
    }

    public override async ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var caller = access.Caller(context.User, context.Transport);
        if (!access.IsEnforced || caller is not null)
        {
            // A list never fails over a handle: an unusable one simply gives no conversation.
            var handle = context.McpRequest?.Params?.Meta?[ConversationProtocol.HandleMetaKey] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            var actor = await ResolveAsync(handle, ConversationPrincipal.KeyOf(caller), context.McpRequest?.Server, context.Transport, context.ProtocolVersion, cancellationToken);
            context.ConversationId = actor?.Id;
        }

        return await continuation(context, cancellationToken);
    }

    private async ValueTask<ConversationActor?> ResolveAsync(string? handle, string owner, McpServer? server, GatewayTransport transport, string? protocolVersion, CancellationToken cancellationToken)
    {
        if (handle is not null)
        {
            var verified = await handles.VerifyAsync(handle, cancellationToken);
            if (verified is null || !string.Equals(verified.Owner, owner, StringComparison.Ordinal))
            {
                return null;
            }

            var actor = await engine.ResolveAsync(verified.ConversationId, owner, createIfMissing: false, cancellationToken);
            if (actor is not null && !handles.IsStale(verified))
            {
                actor.Handle ??= (handle, verified.KeyId);
            }

            return actor;
        }

        if (server is null || !HasImplicitConversation(server, transport, protocolVersion))
        {
            return null;
        }

        var now = timeProvider.GetTimestamp();
        var key = $"{transport}:{server.SessionId ?? "process"}";
        if (!_implicit.TryGetValue(key, out var binding))
        {
            binding = _implicit.GetOrAdd(key, static _ => new ImplicitConversation());
            if (Interlocked.Increment(ref _bindingsAdded) % 256 == 0)
            {
                ForgetIdleBindings(now);
            }
        }

        string id;
        lock (binding)
        {
            // A connection idle past the timeout starts a new conversation (the old one's state is gone by then), and so
            // does a connection whose caller changed.
            if (binding.Id is null || binding.Owner != owner || timeProvider.GetElapsedTime(binding.LastUsed, now) >= engine.Options.IdleTimeout)
            {
                binding.Id = ConversationHandles.NewConversationId();
                binding.Owner = owner;
            }

            binding.LastUsed = now;
            id = binding.Id;
        }

        return await engine.ResolveAsync(id, owner, createIfMissing: true, cancellationToken);
    }

    /// <summary>Drops the bindings of connections idle past the timeout (their conversations have expired by then).</summary>
    private void ForgetIdleBindings(long now)
    {
        foreach (var (key, binding) in _implicit)
        {
            long lastUsed;
            lock (binding)
            {
                lastUsed = binding.LastUsed;
            }

            if (lastUsed != 0 && timeProvider.GetElapsedTime(lastUsed, now) >= engine.Options.IdleTimeout)
            {
                _implicit.TryRemove(new KeyValuePair<string, ImplicitConversation>(key, binding));
            }
        }
    }

    /// <summary>Connections that carry a conversation implicitly: 2025-11-25 HTTP sessions, WebSocket and stdio.</summary>
    private static bool HasImplicitConversation(McpServer server, GatewayTransport transport, string? protocolVersion) => transport switch
    {
        GatewayTransport.WebSocket or GatewayTransport.Stdio => true,
        GatewayTransport.StreamableHttp => server.SessionId is not null && !ProtocolVersions.IsModern(protocolVersion),
        _ => false,
    };

    /// <summary>The handle the call carries; a handle argument is removed so the plugin never sees it.</summary>
    private static string? TakeHandle(ToolCallContext context)
    {
        if (context.Meta?[ConversationProtocol.HandleMetaKey] is JsonValue metaValue && metaValue.TryGetValue<string>(out var fromMeta))
        {
            RemoveHandleArgument(context);
            return fromMeta;
        }

        if (context.ConversationHandle is { } fromHeader)
        {
            RemoveHandleArgument(context);
            return fromHeader;
        }

        if (context.Arguments?.TryGetValue(ConversationProtocol.HandleArgument, out var argument) == true && OwnsHandleArgument(context))
        {
            RemoveHandleArgument(context);
            return argument.ValueKind == JsonValueKind.String ? argument.GetString() : string.Empty;
        }

        return null;
    }

    private static void RemoveHandleArgument(ToolCallContext context)
    {
        if (context.Arguments?.ContainsKey(ConversationProtocol.HandleArgument) == true && OwnsHandleArgument(context))
        {
            // A copy: the dictionary may belong to the transport's request object.
            var copy = new Dictionary<string, JsonElement>(context.Arguments, StringComparer.Ordinal);
            copy.Remove(ConversationProtocol.HandleArgument);
            context.Arguments = copy;
        }
    }

    /// <summary>The argument is the gateway's unless the tool itself declares a property of that name.</summary>
    private static bool OwnsHandleArgument(ToolCallContext context)
        => !(context.Catalog.TryGetTool(context.RequestedName, out var tool)
            && tool.ProtocolTool.InputSchema.ValueKind == JsonValueKind.Object
            && tool.ProtocolTool.InputSchema.TryGetProperty("properties", out var properties)
            && properties.ValueKind == JsonValueKind.Object
            && properties.TryGetProperty(ConversationProtocol.HandleArgument, out _));

    private sealed class ImplicitConversation
    {
        public string? Id { get; set; }

        public string? Owner { get; set; }

        public long LastUsed { get; set; }
    }
}
