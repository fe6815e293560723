using System.Text.Json;

namespace Switchboard.Conversations;

/// <summary>
/// The persisted state of one conversation: who owns it, the workflow state of each plugin, and the keys. Stored as one
/// JSON document under a version (compare-and-swap), so a batch is applied all or nothing. Treated as immutable:
/// applying a batch builds a new document that shares the untouched entries.
/// </summary>
internal sealed class ConversationDocument
{
    /// <summary>The principal key of the caller that owns the conversation (<see cref="ConversationPrincipal"/>).</summary>
    public string Owner { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The workflow state of each plugin that declares a workflow, once it has left its initial state.</summary>
    public Dictionary<string, string> Workflows { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, StoredEntry> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last stamp issued to an <c>lww</c> write: a hybrid clock (milliseconds, bumped to stay increasing).</summary>
    public long Clock { get; set; }

    public ConversationDocument With(Dictionary<string, StoredEntry> keys, Dictionary<string, string> workflows, long clock) => new()
    {
        Owner = Owner,
        CreatedAt = CreatedAt,
        Workflows = workflows,
        Keys = keys,
        Clock = clock,
    };
}

/// <summary>One key as stored. Which members are used depends on the policy.</summary>
internal sealed class StoredEntry
{
    public StatePolicy Policy { get; set; }

    public long Version { get; set; }

    /// <summary>exclusive, lww, owner: the value.</summary>
    public JsonElement? Value { get; set; }

    /// <summary>counter: the total.</summary>
    public long Count { get; set; }

    /// <summary>lww: the stamp of the write that won.</summary>
    public long Stamp { get; set; }

    /// <summary>lww: the writer of the write that won (breaks ties between equal stamps).</summary>
    public string? Writer { get; set; }

    /// <summary>set: the members, each with the tags of the additions not removed yet.</summary>
    public List<SetMember>? Members { get; set; }

    /// <summary>append: the entries, in sequence order.</summary>
    public List<AppendItem>? Items { get; set; }
}

/// <summary>A member of a <c>set</c> key; present while it has at least one tag.</summary>
internal sealed record SetMember(JsonElement Value, List<string> Tags);

/// <summary>An entry of an <c>append</c> key; <paramref name="Seq"/> is the conversation version that applied it.</summary>
internal sealed record AppendItem(long Seq, JsonElement Value);
