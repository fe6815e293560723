using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Plugins;

namespace Switchboard.Conversations;

/// <summary>
/// Lists the optional <c>conversation_handle</c> argument on the tools of conversation-aware plugins, so a model whose
/// client cannot set <c>_meta</c> sees where the handle from <c>conversation_open</c> goes. The same for every caller
/// and every state, so 2026-07-28 lists stay invariant; the identity stage removes the argument before the plugin runs.
/// </summary>
internal static class ConversationToolSchemas
{
    // One listed copy per catalog tool; a catalog reload makes new tools (and the old copies go with the old ones).
    private static readonly ConditionalWeakTable<CatalogTool, CatalogTool> s_listed = [];

    public static CatalogTool WithHandleArgument(CatalogTool tool) => s_listed.GetValue(tool, Augment);

    private static CatalogTool Augment(CatalogTool tool)
    {
        if (JsonNode.Parse(tool.ProtocolTool.InputSchema.GetRawText()) is not JsonObject schema)
        {
            return tool;
        }

        if (schema["properties"] is not JsonObject properties)
        {
            properties = [];
            schema["properties"] = properties;
        }

        if (properties.ContainsKey(ConversationProtocol.HandleArgument))
        {
            // The tool has an argument of its own by that name; the handle then travels only in _meta or headers.
            return tool;
        }

        properties[ConversationProtocol.HandleArgument] = new JsonObject
        {
            ["type"] = "string",
            ["description"] = "The conversation handle from conversation_open. Only needed when the client cannot carry it in _meta.",
        };
        var typeInfo = McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Tool));
        var copy = (Tool)JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(tool.ProtocolTool, typeInfo), typeInfo)!;
        copy.InputSchema = JsonSerializer.SerializeToElement(schema, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonObject)));
        return new CatalogTool(tool.Name, tool.Plugin, tool.LocalName, copy, tool.Timeout, tool.Invoker);
    }
}
