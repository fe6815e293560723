using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Conversations;

/// <summary>
/// The built-in <c>conversation</c> plugin: <c>conversation_open</c> starts a conversation for clients that cannot carry
/// a handle in <c>_meta</c> themselves (the model passes it back as the <c>conversation_handle</c> argument).
/// </summary>
[McpServerToolType]
public sealed class ConversationTools
{
    public const string PluginName = "conversation";
    public const string PluginVersion = "1.0.0";

    [McpServerTool(Name = "open", Title = "Open a conversation", ReadOnly = false, Idempotent = false, OpenWorld = false)]
    [Description(
        "Starts a conversation and returns its handle. Tools that keep state between calls (their input lists " +
        "'conversation_handle') need it: pass the handle as 'conversation_handle' on each of their calls. A conversation " +
        "ends after a period without calls.")]
    public static async Task<CallToolResult> Open(ConversationOpener opener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(opener);
        var handle = await opener.OpenAsync(cancellationToken);
        var idle = opener.IdleTimeout.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture);
        return new CallToolResult
        {
            Content =
            [
                new TextContentBlock
                {
                    Text = $"Conversation opened. Pass this handle as 'conversation_handle' to tools that keep state: {handle}\n" +
                        $"It expires after {idle} minutes without calls.",
                },
            ],
            StructuredContent = JsonSerializer.SerializeToElement(new JsonObject { ["conversation_handle"] = handle }, Serialization.SwitchboardJson.ToolOptions.GetTypeInfo(typeof(JsonObject))),
            Meta = new JsonObject { [ConversationProtocol.HandleMetaKey] = handle },
        };
    }
}
