using System.Collections.Concurrent;

namespace Switchboard.Conversations;

/// <summary>A conversation as last read or written by this process.</summary>
/// <param name="Version">The stored version; 0 for an implicit conversation nothing has been written to yet.</param>
internal sealed record ConversationSnapshot(long Version, ConversationDocument Document, DateTimeOffset ExpiresAt);

/// <summary>
/// The single writer of one conversation in this process: batches are applied one at a time under its lock, against the
/// document it caches, and committed to the store with a compare-and-swap on the version (which catches writers in
/// other processes). Calls of a plugin's workflow-gated tools also take the plugin's workflow lock for their whole run,
/// so the state a gate allowed is still the state when the tool's transition commits.
/// </summary>
internal sealed class ConversationActor(string id)
{
    // Created on first use: most conversations (every implicit one of a connection that only calls stateless tools) never
    // take a workflow lock or run an operation id, and an empty concurrent dictionary is about 500 bytes. Measured with
    // `switchboard-bench heap`: the two were 1.3 KB of every idle WebSocket connection.
    private ConcurrentDictionary<string, SemaphoreSlim>? _workflowLocks;
    private ConcurrentDictionary<string, TaskCompletionSource>? _operations;
    private volatile ConversationSnapshot? _current;

    public string Id { get; } = id;

    /// <summary>Held while a batch is applied or the document (re)loaded.</summary>
    public SemaphoreSlim Writer { get; } = new(1, 1);

    /// <summary>The cached snapshot; null when the conversation does not exist (or is not loaded yet).</summary>
    public ConversationSnapshot? Current
    {
        get => _current;
        set => _current = value;
    }

    public bool IsLoaded { get; set; }

    /// <summary>When a request last used the conversation (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long LastUsed { get; set; }

    /// <summary>A handle for this conversation signed with the active key (echoed in results), and that key's id.</summary>
    public (string Handle, string KeyId)? Handle { get; set; }

    /// <summary>True while a request is running in the conversation (it is not evicted from memory then).</summary>
    public bool IsBusy => Writer.CurrentCount == 0 || Volatile.Read(ref _operations) is { IsEmpty: false } || (Volatile.Read(ref _workflowLocks)?.Values.Any(l => l.CurrentCount == 0) ?? false);

    public SemaphoreSlim WorkflowLock(string plugin)
        => LazyInitializer.EnsureInitialized(ref _workflowLocks, static () => new(StringComparer.Ordinal)).GetOrAdd(plugin, static _ => new SemaphoreSlim(1, 1));

    /// <summary>
    /// Marks <paramref name="operationId"/> as running; while it runs, another call with the same id waits for it and then
    /// finds its recorded result. Returns null when this call is the one to run it.
    /// </summary>
    public Task? WaitForRunningOperation(string operationId, out IDisposable? running)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var existing = LazyInitializer.EnsureInitialized(ref _operations, static () => new(StringComparer.Ordinal)).GetOrAdd(operationId, mine);
        if (!ReferenceEquals(existing, mine))
        {
            running = null;
            return existing.Task;
        }

        running = new RunningOperation(this, operationId, mine);
        return null;
    }

    private sealed class RunningOperation(ConversationActor actor, string operationId, TaskCompletionSource done) : IDisposable
    {
        public void Dispose()
        {
            actor._operations!.TryRemove(new KeyValuePair<string, TaskCompletionSource>(operationId, done));
            done.TrySetResult();
        }
    }
}
