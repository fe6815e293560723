using System.Text.Json;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using Switchboard.Plugins.Samples;
using Switchboard.Scaling;
using Switchboard.Transports.Rest;

namespace Switchboard.Serialization;

/// <summary>Source-generated JSON metadata for every type Switchboard serializes itself.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WordCountResult))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(RestToolList))]
[JsonSerializable(typeof(Conversations.ConversationDocument))]
[JsonSerializable(typeof(Conversations.OperationRecord))]
[JsonSerializable(typeof(SampleOrder))]
[JsonSerializable(typeof(CaseView))]
[JsonSerializable(typeof(decimal))]
internal sealed partial class SwitchboardJsonContext : JsonSerializerContext;

/// <summary>The JSON options Switchboard uses; never create <see cref="JsonSerializerOptions"/> ad hoc.</summary>
public static class SwitchboardJson
{
    /// <summary>Options for in-process tools: the MCP SDK's types plus ours, all source-generated (AOT-safe).</summary>
    public static JsonSerializerOptions ToolOptions { get; } = CreateToolOptions();

    private static JsonSerializerOptions CreateToolOptions()
    {
        var options = new JsonSerializerOptions(McpJsonUtilities.DefaultOptions);
        options.TypeInfoResolverChain.Add(SwitchboardJsonContext.Default);
        options.MakeReadOnly();
        return options;
    }
}
