using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Conversations;

/// <summary>How concurrent writes to one state key are reconciled. Declared per key; <see cref="Exclusive"/> by default.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StatePolicy>))]
public enum StatePolicy
{
    /// <summary>A write carries the version it expects; a stale write fails with a <see cref="StateConflict"/>.</summary>
    Exclusive,

    /// <summary>Last writer wins, ordered by the gateway's clock (then the writer's name).</summary>
    Lww,

    /// <summary>An integer that writers increment or decrement; increments never conflict and always add up.</summary>
    Counter,

    /// <summary>A set of JSON values with add and remove (observed-remove: a concurrent add wins over a remove).</summary>
    Set,

    /// <summary>An ordered log: writers append, entries keep the order in which they were applied.</summary>
    Append,

    /// <summary>Only the owning plugin writes (in arrival order); every other plugin may only read.</summary>
    Owner,
}

/// <summary>A state key a plugin declares: its name and policy, and for <see cref="StatePolicy.Owner"/> its owner.</summary>
/// <param name="Key">Lowercase letters, digits, '_', '-' and '.', starting with a letter or digit; at most 64 characters.</param>
/// <param name="Policy">How concurrent writes are reconciled.</param>
/// <param name="Owner">For <see cref="StatePolicy.Owner"/>: the plugin that may write.</param>
public sealed record StateKeyDeclaration(string Key, StatePolicy Policy = StatePolicy.Exclusive, string? Owner = null);

/// <summary>A key's value as a plugin reads it, with the version its next exclusive write must expect.</summary>
/// <param name="Value">The value. Counters are numbers, sets and append logs are arrays.</param>
/// <param name="Version">Starts at 1 with the first write and grows by one with every write; 0 means absent.</param>
public readonly record struct StateValue(JsonElement Value, long Version);

/// <summary>What a write does.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StateWriteKind>))]
public enum StateWriteKind
{
    /// <summary>Replace the value (exclusive, lww, owner).</summary>
    Set,

    /// <summary>Add <see cref="StateWrite.Delta"/> (counter).</summary>
    Increment,

    /// <summary>Add a member (set).</summary>
    Add,

    /// <summary>Remove a member (set); removes the additions the writer had seen.</summary>
    Remove,

    /// <summary>Append an entry (append).</summary>
    Append,
}

/// <summary>One write of a batch.</summary>
public sealed record StateWrite(string Key, StateWriteKind Kind, JsonElement? Value = null, long Delta = 0, long? ExpectedVersion = null)
{
    /// <summary>For <see cref="StateWriteKind.Remove"/>: the tags of the member the writer saw (observed-remove).</summary>
    internal IReadOnlyList<string>? ObservedTags { get; init; }
}

/// <summary>
/// An exclusive write expected another version than the key has: another call changed it first. Nothing of the batch
/// was applied. The message is written for the model, which can read the key again and retry.
/// </summary>
public sealed record StateConflict(string Key, long ExpectedVersion, long ActualVersion)
{
    public string Message =>
        $"State conflict: key '{Key}' is at version {ActualVersion}, but this call expected version {ExpectedVersion} " +
        $"(another call changed it first). Nothing from this call was saved. Read '{Key}' again, then retry.";
}

/// <summary>Why a batch was not applied.</summary>
public enum StateFailureKind
{
    /// <summary>An exclusive write was stale (<see cref="StateCommitResult.Conflict"/> says which key).</summary>
    Conflict,

    /// <summary>The plugin may not write the key (owned by another plugin, or not declared by this one).</summary>
    Forbidden,

    /// <summary>The write does not fit the key's policy or a limit (value too large, too many keys).</summary>
    Invalid,

    /// <summary>The workflow moved to another state while the call ran (another replica served a call).</summary>
    WorkflowMoved,

    /// <summary>The conversation expired or was deleted.</summary>
    Expired,
}

/// <summary>The outcome of committing a batch: applied (with the new versions of the keys written), or why not.</summary>
public sealed record StateCommitResult
{
    private StateCommitResult()
    {
    }

    public bool Committed => FailureKind is null;

    /// <summary>The version of every key written, after the batch.</summary>
    public IReadOnlyDictionary<string, long> Versions { get; private init; } = new Dictionary<string, long>();

    public StateFailureKind? FailureKind { get; private init; }

    /// <summary>For <see cref="StateFailureKind.Conflict"/>: the stale write.</summary>
    public StateConflict? Conflict { get; private init; }

    /// <summary>Why the batch was not applied, written for the model.</summary>
    public string? Message { get; private init; }

    internal static StateCommitResult Success(IReadOnlyDictionary<string, long> versions) => new() { Versions = versions };

    internal static StateCommitResult FromConflict(StateConflict conflict) => new() { FailureKind = StateFailureKind.Conflict, Conflict = conflict, Message = conflict.Message };

    internal static StateCommitResult Failure(StateFailureKind kind, string message) => new() { FailureKind = kind, Message = message };
}
