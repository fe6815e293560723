using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;

namespace Switchboard.Conversations;

/// <summary>
/// The <c>_meta</c> extension through which upstream plugins take part in conversation state (docs/conversations.md):
/// <list type="bullet">
/// <item>request <c>_meta["dev.switchboard/state"]</c>: <c>{"workflowState": "...", "keys": {"k": {"value": ..., "version": 3, "policy": "exclusive"}}}</c>,
/// the declared keys as the call starts;</item>
/// <item>result <c>_meta["dev.switchboard/state-writes"]</c>: <c>[{"key": "k", "op": "set", "value": ..., "expectedVersion": 3}, ...]</c>,
/// with <c>op</c> one of <c>set</c>, <c>increment</c> (with <c>delta</c>), <c>add</c>, <c>remove</c>, <c>append</c>. The
/// writes form one atomic batch; an exclusive write without <c>expectedVersion</c> expects the version it was sent.</item>
/// </list>
/// The writes entry is removed from the result before it goes back to the caller.
/// </summary>
internal static class UpstreamStateMeta
{
    public static JsonObject Snapshot(PluginConversation declaration, SnapshotReader reader, string? workflowState)
    {
        var keys = new JsonObject();
        foreach (var (name, key) in declaration.Keys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            var value = reader.Read(name);
            keys[name] = new JsonObject
            {
                ["value"] = value is { } v ? JsonNode.Parse(v.Value.GetRawText()) : null,
                ["version"] = value?.Version ?? 0,
                ["policy"] = key.Policy.ToString().ToLowerInvariant(),
            };
        }

        var state = new JsonObject { ["keys"] = keys };
        if (workflowState is not null)
        {
            state["workflowState"] = workflowState;
        }

        return new JsonObject { [ConversationProtocol.StateMetaKey] = state };
    }

    /// <summary>Takes the writes out of the result's <c>_meta</c>; false (with the reason) when they are malformed.</summary>
    public static bool TryTakeWrites(CallToolResult result, ConversationCall call, out IReadOnlyList<StateWrite> writes, out string problem)
    {
        writes = [];
        problem = string.Empty;
        if (result.Meta is not { } meta || !meta.TryGetPropertyValue(ConversationProtocol.StateWritesMetaKey, out var node))
        {
            return true;
        }

        meta.Remove(ConversationProtocol.StateWritesMetaKey);
        if (meta.Count == 0)
        {
            result.Meta = null;
        }

        if (node is not JsonArray array)
        {
            problem = $"'{ConversationProtocol.StateWritesMetaKey}' must be an array";
            return false;
        }

        var list = new List<StateWrite>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject write
                || write["key"] is not JsonValue keyValue || !keyValue.TryGetValue<string>(out var key)
                || write["op"] is not JsonValue opValue || !opValue.TryGetValue<string>(out var op))
            {
                problem = $"write {i} needs a string 'key' and 'op'";
                return false;
            }

            JsonElement? value = write.TryGetPropertyValue("value", out var valueNode)
                ? ParseElement(valueNode?.ToJsonString() ?? "null")
                : null;
            long? expected = write["expectedVersion"] is JsonValue e && e.TryGetValue<long>(out var version) ? version : null;
            switch (op)
            {
                case "set":
                    list.Add(new StateWrite(key, StateWriteKind.Set, value, ExpectedVersion: expected ?? call.DefaultExpectation(key)));
                    break;
                case "increment":
                    if (write["delta"] is not JsonValue d || !d.TryGetValue<long>(out var delta))
                    {
                        problem = $"write {i} ('increment') needs an integer 'delta'";
                        return false;
                    }

                    list.Add(new StateWrite(key, StateWriteKind.Increment, Delta: delta));
                    break;
                case "add":
                    list.Add(new StateWrite(key, StateWriteKind.Add, value));
                    break;
                case "remove":
                    list.Add(new StateWrite(key, StateWriteKind.Remove, value)
                    {
                        ObservedTags = value is { } member ? StateMerge.TagsOf(call.Reader.Document.Keys.GetValueOrDefault(key), member) : [],
                    });
                    break;
                case "append":
                    list.Add(new StateWrite(key, StateWriteKind.Append, value));
                    break;
                default:
                    problem = $"write {i} has an unknown op (use set, increment, add, remove or append)";
                    return false;
            }
        }

        writes = list;
        return true;
    }

    private static JsonElement ParseElement(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
