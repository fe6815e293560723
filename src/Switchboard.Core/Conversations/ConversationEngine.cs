using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Serialization;

namespace Switchboard.Conversations;

/// <summary>What committing a batch did.</summary>
/// <param name="Result">Applied, or why not.</param>
/// <param name="Replayed">When the operation id was already recorded: the record (nothing was applied again).</param>
internal sealed record CommitOutcome(StateCommitResult Result, StoredOperation? Replayed = null);

/// <summary>
/// The conversations this process serves: one <see cref="ConversationActor"/> per conversation in use, created on first
/// use and dropped after a period without use, over an <see cref="IConversationStore"/>. All reads and writes of
/// conversation state go through here.
/// </summary>
internal sealed partial class ConversationEngine(
    IConversationStore store,
    ConversationRegistry registry,
    IOptions<ConversationOptions> options,
    TimeProvider timeProvider,
    ILogger<ConversationEngine> logger)
{
    private const int MaxCommitAttempts = 5;
    private readonly ConcurrentDictionary<string, ConversationActor> _actors = new(StringComparer.Ordinal);

    public ConversationRegistry Registry => registry;

    public ConversationOptions Options => options.Value;

    /// <summary>Conversations held in memory (diagnostics, benchmarks).</summary>
    public int ActiveCount => _actors.Count;

    /// <summary>Creates a conversation owned by <paramref name="owner"/>; returns its id.</summary>
    public async ValueTask<string> CreateAsync(string owner, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var document = new ConversationDocument { Owner = owner, CreatedAt = now };
        var expires = now + options.Value.IdleTimeout;
        for (var attempt = 0; ; attempt++)
        {
            var id = ConversationHandles.NewConversationId();
            var status = await store.CompareAndSwapAsync(new ConversationWrite(id, 0, owner, expires, Serialize(document), null), cancellationToken);
            if (status == StoreWriteStatus.Written)
            {
                var actor = new ConversationActor(id) { IsLoaded = true, Current = new ConversationSnapshot(1, document, expires), LastUsed = timeProvider.GetTimestamp() };
                _actors[id] = actor;
                Log.Created(logger, id);
                return id;
            }

            if (attempt >= 3)
            {
                throw new InvalidOperationException("Could not create a conversation: the store refused every new id.");
            }
        }
    }

    /// <summary>
    /// The conversation <paramref name="conversationId"/> if it exists, has not expired and belongs to
    /// <paramref name="owner"/>; counts as activity (moves its expiry). With <paramref name="createIfMissing"/> (implicit
    /// conversations of a session) a missing one starts empty, and is stored with its first write.
    /// </summary>
    public async ValueTask<ConversationActor?> ResolveAsync(string conversationId, string owner, bool createIfMissing, CancellationToken cancellationToken)
    {
        var actor = _actors.GetOrAdd(conversationId, static id => new ConversationActor(id));
        var now = timeProvider.GetUtcNow();
        var snapshot = await LoadAsync(actor, reload: false, cancellationToken);
        if (snapshot is not null && snapshot.ExpiresAt <= now)
        {
            // Another replica may have used it since we cached it: only the store can say it has expired.
            snapshot = await LoadAsync(actor, reload: true, cancellationToken);
            if (snapshot is not null && snapshot.ExpiresAt <= now)
            {
                if (snapshot.Version > 0)
                {
                    await store.DeleteAsync(conversationId, cancellationToken);
                    Log.Expired(logger, conversationId);
                }

                actor.Current = null;
                snapshot = null;
            }
        }

        if (snapshot is null)
        {
            if (!createIfMissing)
            {
                _actors.TryRemove(new KeyValuePair<string, ConversationActor>(conversationId, actor));
                return null;
            }

            snapshot = new ConversationSnapshot(0, new ConversationDocument { Owner = owner, CreatedAt = now }, now + options.Value.IdleTimeout);
            actor.Current = snapshot;
        }

        if (!string.Equals(snapshot.Document.Owner, owner, StringComparison.Ordinal))
        {
            return null;
        }

        actor.LastUsed = timeProvider.GetTimestamp();
        await TouchAsync(actor, snapshot, now, cancellationToken);
        return actor;
    }

    /// <summary>The in-memory actor of a conversation resolved earlier in the request (loaded again if it was dropped).</summary>
    public async ValueTask<ConversationActor?> GetAsync(string conversationId, CancellationToken cancellationToken)
    {
        var actor = _actors.GetOrAdd(conversationId, static id => new ConversationActor(id));
        return await LoadAsync(actor, reload: false, cancellationToken) is null ? null : actor;
    }

    /// <summary>Applies a batch: one at a time per conversation, compare-and-swap in the store, re-applied on a lost race.</summary>
    public async ValueTask<CommitOutcome> CommitAsync(ConversationActor actor, StateBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(batch);
        var declaration = registry.Find(batch.Plugin);
        await actor.Writer.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
            {
                var snapshot = actor.Current;
                if (snapshot is null)
                {
                    return new CommitOutcome(StateCommitResult.Failure(StateFailureKind.Expired, ExpiredMessage));
                }

                var now = timeProvider.GetUtcNow();
                var (document, result) = StateBatchApplier.Apply(snapshot.Document, snapshot.Version, batch, declaration, options.Value, now.ToUnixTimeMilliseconds());
                if (document is null)
                {
                    return new CommitOutcome(result);
                }

                var expires = now + options.Value.IdleTimeout;
                var operation = batch.OperationId is { } operationId
                    ? new OperationAppend(operationId, now, batch.OperationRecord ?? [])
                    : null;
                var status = await store.CompareAndSwapAsync(
                    new ConversationWrite(actor.Id, snapshot.Version, snapshot.Document.Owner, expires, Serialize(document), operation),
                    cancellationToken);
                switch (status)
                {
                    case StoreWriteStatus.Written:
                        actor.Current = new ConversationSnapshot(snapshot.Version + 1, document, expires);
                        return new CommitOutcome(result);
                    case StoreWriteStatus.DuplicateOperation:
                        return new CommitOutcome(result, await store.GetOperationAsync(actor.Id, batch.OperationId!, cancellationToken));
                    default:
                        // Another process wrote first (or the conversation is gone): read it again and re-apply.
                        Log.CompareAndSwapLost(logger, actor.Id, snapshot.Version);
                        await ReloadLockedAsync(actor, cancellationToken);
                        break;
                }
            }

            return new CommitOutcome(StateCommitResult.Failure(StateFailureKind.Conflict, "The conversation is being changed by other calls right now; nothing from this call was saved. Retry."));
        }
        finally
        {
            actor.Writer.Release();
        }
    }

    /// <summary>The record of an operation id in this conversation, or null.</summary>
    public async ValueTask<StoredOperation?> FindOperationAsync(ConversationActor actor, string operationId, CancellationToken cancellationToken)
        => actor.Current is { Version: > 0 } ? await store.GetOperationAsync(actor.Id, operationId, cancellationToken) : null;

    /// <summary>Deletes expired conversations and old operation records; drops conversations unused for a while from memory.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var settings = options.Value;
        var deleted = 0;
        while (true)
        {
            var expired = await store.ExpireAsync(now, now - settings.OperationRetention, 500, cancellationToken);
            foreach (var id in expired)
            {
                _actors.TryRemove(id, out _);
                Log.Expired(logger, id);
            }

            deleted += expired.Count;
            if (expired.Count < 500)
            {
                break;
            }
        }

        foreach (var (id, actor) in _actors)
        {
            var idle = timeProvider.GetElapsedTime(actor.LastUsed);
            var gone = actor.Current is null || actor.Current.ExpiresAt <= now;
            if (!actor.IsBusy && (gone || idle >= settings.IdleTimeout))
            {
                _actors.TryRemove(new KeyValuePair<string, ConversationActor>(id, actor));
            }
        }

        return deleted;
    }

    /// <summary>A handle for the conversation signed with the active key, minted once per key.</summary>
    public static string HandleFor(ConversationActor actor, ConversationHandles handles)
    {
        var owner = actor.Current?.Document.Owner ?? throw new InvalidOperationException("The conversation is gone.");
        if (actor.Handle is { } cached && handles.IsCurrentKey(cached.KeyId))
        {
            return cached.Handle;
        }

        var (handle, keyId) = handles.MintWithKey(actor.Id, owner);
        actor.Handle = (handle, keyId);
        return handle;
    }

    internal const string ExpiredMessage = "This conversation has expired and its state was deleted. Call conversation_open to start a new one.";

    private async ValueTask<ConversationSnapshot?> LoadAsync(ConversationActor actor, bool reload, CancellationToken cancellationToken)
    {
        if (actor.IsLoaded && !reload)
        {
            return actor.Current;
        }

        await actor.Writer.WaitAsync(cancellationToken);
        try
        {
            if (!actor.IsLoaded || reload)
            {
                await ReloadLockedAsync(actor, cancellationToken);
            }

            return actor.Current;
        }
        finally
        {
            actor.Writer.Release();
        }
    }

    private async ValueTask ReloadLockedAsync(ConversationActor actor, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(actor.Id, cancellationToken);
        actor.Current = stored is null ? (actor.Current is { Version: 0 } unsaved ? unsaved : null) : Deserialize(stored);
        actor.IsLoaded = true;
    }

    private async ValueTask TouchAsync(ConversationActor actor, ConversationSnapshot snapshot, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var idle = options.Value.IdleTimeout;

        // Activity moves the expiry, but the store is told only when a tenth of the idle timeout has gone by.
        if (snapshot.ExpiresAt - now > idle - idle / 10)
        {
            return;
        }

        var expires = now + idle;
        if (snapshot.Version == 0 || await store.TouchAsync(actor.Id, expires, cancellationToken))
        {
            // Only if nothing replaced the snapshot meanwhile; a commit sets its own expiry.
            var current = actor.Current;
            if (ReferenceEquals(current, snapshot))
            {
                actor.Current = snapshot with { ExpiresAt = expires };
            }
        }
    }

    private static ConversationSnapshot Deserialize(StoredConversation stored)
    {
        var document = JsonSerializer.Deserialize(stored.Document.Span, SwitchboardJsonContext.Default.ConversationDocument)
            ?? throw new InvalidDataException($"Conversation {stored.Id} has an empty document.");
        document.Owner = stored.Owner;
        return new ConversationSnapshot(stored.Version, document, stored.ExpiresAt);
    }

    internal static byte[] Serialize(ConversationDocument document) => JsonSerializer.SerializeToUtf8Bytes(document, SwitchboardJsonContext.Default.ConversationDocument);

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, EventName = "ConversationCreated", Level = LogLevel.Debug, Message = "Conversation {ConversationId} created")]
        public static partial void Created(ILogger logger, string conversationId);

        [LoggerMessage(EventId = 7002, EventName = "ConversationExpired", Level = LogLevel.Debug, Message = "Conversation {ConversationId} expired; its state was deleted")]
        public static partial void Expired(ILogger logger, string conversationId);

        [LoggerMessage(EventId = 7003, EventName = "ConversationCompareAndSwapLost", Level = LogLevel.Debug, Message = "Conversation {ConversationId}: version {Version} was replaced by another writer; re-applying")]
        public static partial void CompareAndSwapLost(ILogger logger, string conversationId, long version);
    }
}
