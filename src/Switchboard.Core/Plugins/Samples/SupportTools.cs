using System.ComponentModel;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using Switchboard.Conversations;

namespace Switchboard.Plugins.Samples;

/// <summary>
/// The <c>support</c> sample plugin: works on the same case as <c>orders</c> in one conversation. Its tags merge with the
/// tags <c>orders</c> adds (<c>case.tags</c> is a <c>set</c>), its notes join the same ordered log (<c>append</c>), and
/// its status change is an <c>exclusive</c> write of <c>case.status</c> that expects the version the model read, so a
/// change made meanwhile by <c>orders</c> surfaces as a state conflict the model can resolve.
/// </summary>
[McpServerToolType]
public sealed class SupportTools(IConversationState state)
{
    public const string PluginName = "support";
    public const string PluginVersion = "1.0.0";

    /// <summary>The declaration: the shared <c>case.*</c> keys, declared with the same policies as <c>orders</c>.</summary>
    public static PluginConversation Conversation { get; } = new(
        PluginName,
        [
            new StateKeyDeclaration(OrdersTools.StatusKey),
            new StateKeyDeclaration(OrdersTools.TagsKey, StatePolicy.Set),
            new StateKeyDeclaration(OrdersTools.LogKey, StatePolicy.Append),
        ]);

    [McpServerTool(Name = "view_case", Title = "View the case", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Shows the case of this conversation: its status (with the version to pass to set_status), tags and history.")]
    public CaseView ViewCase()
    {
        var status = state.Read(OrdersTools.StatusKey);
        return new CaseView(
            status?.Value.GetString(),
            status?.Version ?? 0,
            state.Read(OrdersTools.TagsKey)?.Value.EnumerateArray().Select(t => t.ToString()).ToList() ?? [],
            state.Read(OrdersTools.LogKey)?.Value.EnumerateArray().Select(t => t.ToString()).ToList() ?? []);
    }

    [McpServerTool(Name = "tag_case", Title = "Tag the case", ReadOnly = false, Idempotent = true, OpenWorld = false)]
    [Description("Adds a tag to the case. Tags from every plugin are merged; adding never conflicts.")]
    public string TagCase([Description("The tag, for example 'vip'.")] string tag)
    {
        state.Add(OrdersTools.TagsKey, OrdersTools.Json(JsonValue.Create(tag)));
        return $"Tagged the case '{tag}'.";
    }

    [McpServerTool(Name = "add_note", Title = "Add a note", ReadOnly = false, Idempotent = false, OpenWorld = false)]
    [Description("Adds a note to the case history, after everything recorded so far.")]
    public string AddNote([Description("The note.")] string text)
    {
        state.Append(OrdersTools.LogKey, OrdersTools.Json(JsonValue.Create("support: " + text)));
        return "Note added.";
    }

    [McpServerTool(Name = "set_status", Title = "Set the case status", ReadOnly = false, Idempotent = false, OpenWorld = false)]
    [Description("Sets the case status. Pass the status version view_case showed: if the case changed since, nothing is saved and the result says so.")]
    public string SetStatus(
        [Description("The new status, for example 'escalated'.")] string status,
        [Description("The status version view_case returned (0 when the case has no status yet).")] long expectedVersion)
    {
        if (string.IsNullOrWhiteSpace(status))
        {
            throw new McpException("The status must not be empty.");
        }

        state.Write(OrdersTools.StatusKey, OrdersTools.Json(JsonValue.Create(status)), expectedVersion);
        return $"Case status set to '{status}'.";
    }
}

/// <summary>What <c>support_view_case</c> returns.</summary>
public sealed record CaseView(string? Status, long StatusVersion, IReadOnlyList<string> Tags, IReadOnlyList<string> History);
