using System.Text;

namespace Switchboard.Conversations;

/// <summary>
/// Everything one tool call changes in its conversation, applied all or nothing: the writes, the workflow transition
/// and the operation record. Built by the conversation stage (or by <see cref="IConversationState.CommitAsync"/>).
/// </summary>
internal sealed record StateBatch(string Plugin, IReadOnlyList<StateWrite> Writes)
{
    /// <summary>The plugin's workflow state the call started in; the batch fails if it is no longer current.</summary>
    public string? ExpectedWorkflowState { get; init; }

    /// <summary>The plugin's workflow state after the batch.</summary>
    public string? NewWorkflowState { get; init; }

    /// <summary>The operation id, when the caller gave one.</summary>
    public string? OperationId { get; init; }

    /// <summary>What a replay of the operation returns (UTF-8 JSON of <see cref="OperationRecord"/>).</summary>
    public byte[]? OperationRecord { get; init; }

    /// <summary>The initial state of the plugin's workflow (where a conversation without a recorded state is).</summary>
    public string? InitialWorkflowState { get; init; }
}

/// <summary>What an operation id is remembered with: a fingerprint of the call and the result it returned.</summary>
/// <param name="Fingerprint">Tool name and arguments, hashed: a replay must be the same call.</param>
/// <param name="Result">The tool result (JSON), or null when the plugin committed before it returned.</param>
internal sealed record OperationRecord(string Fingerprint, System.Text.Json.JsonElement? Result);

/// <summary>Applies a batch to a document: the policies' rules, the owner and declaration checks, and the limits.</summary>
internal static class StateBatchApplier
{
    /// <summary>The writes one batch may hold.</summary>
    public const int MaxWrites = 1000;

    public static (ConversationDocument? Document, StateCommitResult Result) Apply(
        ConversationDocument document,
        long version,
        StateBatch batch,
        PluginConversation? declaration,
        ConversationOptions limits,
        long nowMilliseconds)
    {
        if (batch.Writes.Count > MaxWrites)
        {
            return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"A tool call may write at most {MaxWrites} state entries; this one wrote {batch.Writes.Count}. Nothing was saved."));
        }

        var workflows = document.Workflows;
        if (batch.ExpectedWorkflowState is { } expected)
        {
            var current = document.Workflows.GetValueOrDefault(batch.Plugin) ?? batch.InitialWorkflowState;
            if (!string.Equals(current, expected, StringComparison.Ordinal))
            {
                return (null, StateCommitResult.Failure(
                    StateFailureKind.WorkflowMoved,
                    $"The conversation's '{batch.Plugin}' workflow moved from '{expected}' to '{current}' while this call ran, so nothing from it was saved. Check the state, then retry."));
            }
        }

        if (batch.NewWorkflowState is { } next && next != workflows.GetValueOrDefault(batch.Plugin))
        {
            workflows = new Dictionary<string, string>(workflows, StringComparer.Ordinal) { [batch.Plugin] = next };
        }

        var newVersion = version + 1;
        var clock = document.Clock;
        var keys = batch.Writes.Count == 0 ? document.Keys : new Dictionary<string, StoredEntry>(document.Keys, StringComparer.Ordinal);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Writes.Count; i++)
        {
            var write = batch.Writes[i];
            if (declaration is null || !declaration.Keys.TryGetValue(write.Key, out var key))
            {
                return (null, StateCommitResult.Failure(StateFailureKind.Forbidden, $"Plugin '{batch.Plugin}' did not declare the state key '{GatewayText(write.Key)}', so it may not write it. Nothing was saved."));
            }

            if (key.Policy == StatePolicy.Owner && key.Owner != batch.Plugin)
            {
                return (null, StateCommitResult.Failure(StateFailureKind.Forbidden, $"The state key '{key.Key}' is owned by plugin '{key.Owner}'; plugin '{batch.Plugin}' may only read it. Nothing was saved."));
            }

            if (write.Value is { } value && Encoding.UTF8.GetByteCount(value.GetRawText()) > limits.MaxValueBytes)
            {
                return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"The value written to '{key.Key}' is larger than {limits.MaxValueBytes} bytes. Nothing was saved."));
            }

            var original = document.Keys.GetValueOrDefault(key.Key);
            var existing = keys.GetValueOrDefault(key.Key);
            if (existing is not null && existing.Policy != key.Policy)
            {
                return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"The state key '{key.Key}' holds a {Name(existing.Policy)} value but is now declared {Name(key.Policy)}. Nothing was saved."));
            }

            StoredEntry entry;
            switch (key.Policy, write.Kind)
            {
                case (StatePolicy.Exclusive, StateWriteKind.Set) or (StatePolicy.Owner, StateWriteKind.Set) when write.Value is { } newValue:
                    // Checked against the version before the batch: a call may write one key twice.
                    var actual = original?.Version ?? 0;
                    if (key.Policy == StatePolicy.Exclusive && write.ExpectedVersion is null)
                    {
                        return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"A write to the exclusive key '{key.Key}' must say which version it expects. Nothing was saved."));
                    }

                    if (write.ExpectedVersion is { } expectedVersion && expectedVersion != actual)
                    {
                        return (null, StateCommitResult.FromConflict(new StateConflict(key.Key, expectedVersion, actual)));
                    }

                    entry = StateMerge.Assign(existing, key.Policy, newValue);
                    break;
                case (StatePolicy.Lww, StateWriteKind.Set) when write.Value is { } lwwValue:
                    clock = Math.Max(nowMilliseconds, clock + 1);
                    entry = StateMerge.LastWriterWins(existing, lwwValue, clock, batch.Plugin);
                    break;
                case (StatePolicy.Counter, StateWriteKind.Increment):
                    if (!StateMerge.TryIncrement(existing, write.Delta, out entry))
                    {
                        return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"The counter '{key.Key}' would overflow. Nothing was saved."));
                    }

                    break;
                case (StatePolicy.Set, StateWriteKind.Add) when write.Value is { } member:
                    entry = StateMerge.SetAdd(existing, member, StateMerge.Tag(newVersion, i));
                    break;
                case (StatePolicy.Set, StateWriteKind.Remove) when write.Value is { } member:
                    entry = StateMerge.SetRemove(existing, member, write.ObservedTags?.ToHashSet(StringComparer.Ordinal) ?? StateMerge.TagsOf(existing, member).ToHashSet(StringComparer.Ordinal));
                    break;
                case (StatePolicy.Append, StateWriteKind.Append) when write.Value is { } item:
                    entry = StateMerge.Append(existing, (newVersion << 16) | (uint)i, item, limits.MaxAppendEntries);
                    break;
                default:
                    return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"'{write.Kind.ToString().ToLowerInvariant()}' does not apply to the {Name(key.Policy)} key '{key.Key}' (use {Allowed(key.Policy)}). Nothing was saved."));
            }

            keys[key.Key] = entry;
            versions[key.Key] = entry.Version;
        }

        if (keys.Count > limits.MaxKeys)
        {
            return (null, StateCommitResult.Failure(StateFailureKind.Invalid, $"A conversation may hold at most {limits.MaxKeys} state keys. Nothing was saved."));
        }

        return (document.With(keys, workflows, clock), StateCommitResult.Success(versions));
    }

    private static string Name(StatePolicy policy) => policy.ToString().ToLowerInvariant();

    private static string Allowed(StatePolicy policy) => policy switch
    {
        StatePolicy.Counter => "increment",
        StatePolicy.Set => "add or remove, with a value",
        StatePolicy.Append => "append, with a value",
        _ => "set, with a value",
    };

    private static string GatewayText(string key) => Pipeline.GatewayError.Printable(key);
}
