using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.Conversations;

/// <summary>
/// The services an in-process tool of a conversation-aware plugin runs with: its per-call <see cref="IConversationState"/>
/// (and, for the <c>conversation</c> plugin, the <see cref="ConversationOpener"/>) in front of the request's services.
/// </summary>
internal sealed class ConversationServices(IServiceProvider inner, IConversationState? state, ConversationOpener? opener) : IServiceProvider, IServiceProviderIsService
{
    public object? GetService(Type serviceType)
    {
        if (serviceType == typeof(IConversationState))
        {
            return state ?? throw new InvalidOperationException("This tool's plugin declares no conversation state.");
        }

        if (serviceType == typeof(ConversationOpener))
        {
            return opener ?? throw new InvalidOperationException("Only the conversation plugin opens conversations.");
        }

        return serviceType == typeof(IServiceProviderIsService) || serviceType == typeof(IServiceProvider) ? this : inner.GetService(serviceType);
    }

    public bool IsService(Type serviceType)
        => serviceType == typeof(IConversationState) || serviceType == typeof(ConversationOpener)
            || (inner.GetService(typeof(IServiceProviderIsService)) as IServiceProviderIsService)?.IsService(serviceType) == true;
}

/// <summary>Opens conversations for the caller of the current call (used by <c>conversation_open</c>).</summary>
public sealed class ConversationOpener
{
    private readonly ConversationEngine _engine;
    private readonly ConversationHandles _handles;
    private readonly string _owner;

    internal ConversationOpener(ConversationEngine engine, ConversationHandles handles, string owner)
    {
        _engine = engine;
        _handles = handles;
        _owner = owner;
    }

    /// <summary>Creates a conversation owned by the caller; returns its handle.</summary>
    public async ValueTask<string> OpenAsync(CancellationToken cancellationToken)
    {
        var id = await _engine.CreateAsync(_owner, cancellationToken);
        var actor = await _engine.GetAsync(id, cancellationToken) ?? throw new InvalidOperationException("The new conversation vanished.");
        return ConversationEngine.HandleFor(actor, _handles);
    }

    /// <summary>How long the conversation lives without calls.</summary>
    public TimeSpan IdleTimeout => _engine.Options.IdleTimeout;
}
