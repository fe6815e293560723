using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Conversations.Sqlite;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;

namespace Switchboard.Conversations;

public static class ConversationServiceCollectionExtensions
{
    /// <summary>
    /// Registers conversations: options (<c>Switchboard:Conversations</c>), the store (SQLite by default), the engine,
    /// the identity (300) and state (800) stages, the expiry sweeper, and the built-in <c>conversation</c> plugin.
    /// Called by <c>AddSwitchboard</c>.
    /// </summary>
    public static ISwitchboardBuilder AddConversations(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(static d => d.ServiceType == typeof(ConversationEngine)))
        {
            return builder;
        }

        services.AddOptions<ConversationOptions>().BindConfiguration(ConversationOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConversationOptions>, ConversationOptionsValidator>());
        services.TryAddSingleton<IConversationStore, SqliteConversationStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPluginConversationProvider, UpstreamConversationProvider>());
        services.TryAddSingleton<ConversationRegistry>();
        services.TryAddSingleton<ConversationHandles>();
        services.TryAddSingleton<ConversationEngine>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, ConversationIdentityStage>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, ConversationStage>());
        services.AddHostedService<ConversationSweeper>();

        // Per-call services: tools get them from the call's services (ConversationServices); registered here so the MCP
        // SDK binds tool parameters of these types from services rather than from arguments.
        services.TryAddTransient<IConversationState>(static _ => throw new InvalidOperationException("IConversationState exists only inside a tool call of a plugin that declares conversation state."));
        services.TryAddTransient<ConversationOpener>(static _ => throw new InvalidOperationException("ConversationOpener exists only inside a call of conversation_open."));

        builder.AddPlugin<ConversationTools>(ConversationTools.PluginName, ConversationTools.PluginVersion, "Opens conversations for clients that cannot carry a handle in _meta.", execution: ToolExecution.Inline);
        return builder;
    }

    /// <summary>Declares the conversation state keys and workflow of an in-process plugin.</summary>
    public static ISwitchboardBuilder AddConversation(this ISwitchboardBuilder builder, PluginConversation declaration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(declaration);
        builder.Services.AddSingleton(declaration);
        return builder;
    }
}
