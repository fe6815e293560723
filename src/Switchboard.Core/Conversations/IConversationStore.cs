namespace Switchboard.Conversations;

/// <summary>
/// Where conversations are persisted. Deliberately small, so that SQLite, Redis and PostgreSQL can all implement it
/// with one round trip per call: read a conversation, compare-and-swap its document on a version (with the operation
/// record of the batch appended in the same atomic step, under a sequence number), read an operation back by id, and
/// expire. Every implementation runs the same contract test suite (<c>ConversationStoreContractTests</c>).
/// </summary>
/// <remarks>
/// Linearizability per conversation comes from two layers: one writer per conversation in each process, and the
/// version compare-and-swap here, which stays correct when several replicas write the same conversation.
/// </remarks>
public interface IConversationStore
{
    /// <summary>The conversation as last written, or null when it does not exist (never created, deleted or expired and swept).</summary>
    ValueTask<StoredConversation?> GetAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <see cref="ConversationWrite.Document"/> as version <c>ExpectedVersion + 1</c> if the stored version is
    /// <see cref="ConversationWrite.ExpectedVersion"/> (0: the conversation must not exist yet), and in the same atomic
    /// step appends <see cref="ConversationWrite.Operation"/> (when given) with sequence number <c>ExpectedVersion + 1</c>.
    /// Nothing is written unless everything is.
    /// </summary>
    ValueTask<StoreWriteStatus> CompareAndSwapAsync(ConversationWrite write, CancellationToken cancellationToken);

    /// <summary>The operation appended with this id in this conversation, or null.</summary>
    ValueTask<StoredOperation?> GetOperationAsync(string conversationId, string operationId, CancellationToken cancellationToken);

    /// <summary>Moves the conversation's expiry (activity without a write). False when it does not exist.</summary>
    ValueTask<bool> TouchAsync(string conversationId, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes a conversation and its operations now. False when it did not exist.</summary>
    ValueTask<bool> DeleteAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="limit"/> conversations whose expiry is at or before <paramref name="now"/> (with their
    /// operations) and returns their ids; also forgets operations recorded before <paramref name="operationsBefore"/>.
    /// </summary>
    ValueTask<IReadOnlyList<string>> ExpireAsync(DateTimeOffset now, DateTimeOffset operationsBefore, int limit, CancellationToken cancellationToken);
}

/// <summary>A conversation as stored: its version, owner, expiry and document (UTF-8 JSON, opaque to the store).</summary>
public sealed record StoredConversation(string Id, long Version, string Owner, DateTimeOffset ExpiresAt, ReadOnlyMemory<byte> Document);

/// <summary>An operation as stored: its sequence (the version it produced), when, and its recorded result (opaque).</summary>
public sealed record StoredOperation(string OperationId, long Sequence, DateTimeOffset RecordedAt, ReadOnlyMemory<byte> Result);

/// <summary>One compare-and-swap.</summary>
public sealed record ConversationWrite(
    string ConversationId,
    long ExpectedVersion,
    string Owner,
    DateTimeOffset ExpiresAt,
    ReadOnlyMemory<byte> Document,
    OperationAppend? Operation);

/// <summary>The operation record appended with a write.</summary>
public sealed record OperationAppend(string OperationId, DateTimeOffset RecordedAt, ReadOnlyMemory<byte> Result);

/// <summary>What a compare-and-swap did.</summary>
public enum StoreWriteStatus
{
    /// <summary>Written.</summary>
    Written,

    /// <summary>The stored version was not the expected one (or the conversation exists when creation was asked, or is gone).</summary>
    VersionMismatch,

    /// <summary>The operation id is already recorded in this conversation: nothing was written.</summary>
    DuplicateOperation,
}
