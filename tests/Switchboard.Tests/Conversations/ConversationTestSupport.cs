using System.ComponentModel;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Server;
using Switchboard.Conversations;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// A test plugin over every state policy: <c>tally_bump</c> is a read-modify-write of the exclusive key <c>x</c>, the
/// others write one key each; <c>tally_bad_batch</c> writes a good key and then one it did not declare.
/// </summary>
[McpServerToolType]
public sealed class TallyTools(IConversationState state)
{
    public const string PluginName = "tally";

    public static PluginConversation Conversation { get; } = new(
        PluginName,
        [
            new StateKeyDeclaration("x"),
            new StateKeyDeclaration("hits", StatePolicy.Counter),
            new StateKeyDeclaration("members", StatePolicy.Set),
            new StateKeyDeclaration("latest", StatePolicy.Lww),
            new StateKeyDeclaration("log", StatePolicy.Append),
        ]);

    [McpServerTool(Name = "bump"), Description("Reads x and writes x + 1, expecting the version it read.")]
    public string Bump()
    {
        var read = state.Read("x");
        var value = read?.Value.GetInt64() ?? 0;
        state.Write("x", JsonSerializer.SerializeToElement(value + 1));
        return $"{read?.Version ?? 0}:{value}";
    }

    [McpServerTool(Name = "count"), Description("Adds delta to hits.")]
    public string Count(long delta)
    {
        state.Increment("hits", delta);
        return "ok";
    }

    [McpServerTool(Name = "join"), Description("Adds a member.")]
    public string Join(string member)
    {
        state.Add("members", JsonSerializer.SerializeToElement(member));
        return "ok";
    }

    [McpServerTool(Name = "put"), Description("Sets latest.")]
    public string Put(string value)
    {
        state.Write("latest", JsonSerializer.SerializeToElement(value));
        return "ok";
    }

    [McpServerTool(Name = "log"), Description("Appends an entry and counts it, in one batch.")]
    public string Log(string entry)
    {
        state.Append("log", JsonSerializer.SerializeToElement(entry));
        state.Increment("hits", 1);
        return "logged " + entry;
    }

    [McpServerTool(Name = "bad_batch"), Description("Writes hits, then a key it did not declare.")]
    public string BadBatch()
    {
        state.Increment("hits", 100);
        state.Write("undeclared", JsonSerializer.SerializeToElement(1));
        return "wrote";
    }

    [McpServerTool(Name = "read"), Description("Returns every key.")]
    public string Read()
    {
        var result = new JsonObject();
        foreach (var key in new[] { "x", "hits", "members", "latest", "log" })
        {
            result[key] = state.Read(key) is { } value ? JsonNode.Parse(value.Value.GetRawText()) : null;
        }

        return result.ToJsonString();
    }
}

/// <summary>
/// The conversation tests that start servers run one at a time: each is CPU-heavy for a moment (a server, concurrent
/// writers), and together they would starve the suite's timing-sensitive process tests on small machines.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConversationServerTests
{
    public const string Name = "Conversation servers";
}

/// <summary>Tool calls inside one conversation over raw 2026-07-28 HTTP (the handle in <c>_meta</c>).</summary>
public sealed class ConversationHttpClient(HttpClient http, Uri endpoint, string? bearer = null)
{
    private int _nextId;

    public string? Handle { get; set; }

    /// <summary>Calls <c>conversation_open</c> and keeps the handle.</summary>
    public async Task<string> OpenAsync(CancellationToken cancellationToken)
    {
        var result = await CallAsync("conversation_open", new JsonObject(), cancellationToken);
        Assert.NotEqual(true, result["isError"]?.GetValue<bool>());
        Handle = result["_meta"]![ConversationProtocol.HandleMetaKey]!.GetValue<string>();
        Assert.Equal(Handle, result["structuredContent"]!["conversation_handle"]!.GetValue<string>());
        return Handle;
    }

    /// <summary>The <c>result</c> of a tools/call (a JSON-RPC error fails the test).</summary>
    public async Task<JsonObject> CallAsync(string tool, JsonObject arguments, CancellationToken cancellationToken, string? operationId = null)
    {
        var meta = McpHttp.ModernMeta();
        if (Handle is not null)
        {
            meta[ConversationProtocol.HandleMetaKey] = Handle;
        }

        if (operationId is not null)
        {
            meta[ConversationProtocol.OperationMetaKey] = operationId;
        }

        var request = McpHttp.ModernRequest(
            endpoint,
            "tools/call",
            new JsonObject { ["name"] = tool, ["arguments"] = arguments, ["_meta"] = meta },
            id: Interlocked.Increment(ref _nextId));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        var response = await McpHttp.SendAsync(http, request, cancellationToken);
        Assert.True(response.Status == 200, $"HTTP {response.Status}: {response.Body}");
        return response.Result;
    }

    public static string Text(JsonObject result) => result["content"]![0]!["text"]!.GetValue<string>();

    public static bool IsError(JsonObject result) => result["isError"]?.GetValue<bool>() == true;
}
