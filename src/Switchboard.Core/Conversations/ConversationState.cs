using System.Text.Json;

namespace Switchboard.Conversations;

/// <summary>
/// The conversation state as one in-process tool call sees it; inject it as a tool-method parameter or constructor
/// argument. Reads come from a snapshot taken when the call started. Writes are collected and committed together, as one
/// atomic batch, when the tool returns a result that is not an error (with the workflow transition the result triggers);
/// a conflict then replaces the result with an <c>isError</c> result the model can act on. To handle conflicts itself, a
/// tool calls <see cref="CommitAsync"/>: on a conflict nothing was applied, the snapshot is refreshed and the tool may
/// write again and retry.
/// </summary>
public interface IConversationState : IConversationStateReader
{
    /// <summary>The verified conversation id.</summary>
    string ConversationId { get; }

    /// <summary>The plugin's workflow state when the call started (null when the plugin has no workflow).</summary>
    string? WorkflowState { get; }

    /// <summary>Replaces the value of an exclusive, lww or owner key. Exclusive writes expect the version read (or the one given).</summary>
    void Write(string key, JsonElement value, long? expectedVersion = null);

    /// <summary>Adds <paramref name="delta"/> to a counter key.</summary>
    void Increment(string key, long delta = 1);

    /// <summary>Adds a member to a set key.</summary>
    void Add(string key, JsonElement member);

    /// <summary>Removes a member from a set key (the additions this call's snapshot saw).</summary>
    void Remove(string key, JsonElement member);

    /// <summary>Appends an entry to an append key.</summary>
    void Append(string key, JsonElement entry);

    /// <summary>Commits the writes so far, with the transition a successful result of this tool triggers. Further writes are refused after success.</summary>
    ValueTask<StateCommitResult> CommitAsync(CancellationToken cancellationToken);
}

/// <summary>Reads declared keys from a document.</summary>
internal sealed class SnapshotReader(ConversationDocument document, PluginConversation declaration) : IConversationStateReader
{
    public StateValue? Read(string key)
        => declaration.Keys.ContainsKey(key) && document.Keys.TryGetValue(key, out var entry)
            ? new StateValue(StateMerge.Read(entry), entry.Version)
            : null;

    public ConversationDocument Document => document;
}

/// <summary>The per-call <see cref="IConversationState"/>.</summary>
internal sealed class ConversationCall : IConversationState
{
    private readonly ConversationEngine _engine;
    private readonly ConversationActor _actor;
    private readonly PluginConversation _declaration;
    private readonly string _tool;
    private readonly List<StateWrite> _writes = [];
    private readonly Lock _gate = new();
    private SnapshotReader _reader;

    public ConversationCall(ConversationEngine engine, ConversationActor actor, PluginConversation declaration, ConversationSnapshot snapshot, string tool, string? workflowState)
    {
        _engine = engine;
        _actor = actor;
        _declaration = declaration;
        _tool = tool;
        _reader = new SnapshotReader(snapshot.Document, declaration);
        WorkflowState = workflowState;
    }

    public string ConversationId => _actor.Id;

    public string? WorkflowState { get; }

    /// <summary>The reader of the snapshot the call sees.</summary>
    public SnapshotReader Reader => _reader;

    /// <summary>True once <see cref="CommitAsync"/> has succeeded: the gateway commits nothing more for the call.</summary>
    public bool Committed { get; private set; }

    /// <summary>The operation id and fingerprint recorded with an explicit commit.</summary>
    public (string OperationId, byte[] Record)? Operation { get; init; }

    public StateValue? Read(string key) => _reader.Read(key);

    public void Write(string key, JsonElement value, long? expectedVersion = null)
        => Add(new StateWrite(key, StateWriteKind.Set, value.Clone(), ExpectedVersion: expectedVersion ?? DefaultExpectation(key)));

    public void Increment(string key, long delta = 1) => Add(new StateWrite(key, StateWriteKind.Increment, Delta: delta));

    public void Add(string key, JsonElement member) => Add(new StateWrite(key, StateWriteKind.Add, member.Clone()));

    public void Remove(string key, JsonElement member)
        => Add(new StateWrite(key, StateWriteKind.Remove, member.Clone()) { ObservedTags = StateMerge.TagsOf(_reader.Document.Keys.GetValueOrDefault(key), member) });

    public void Append(string key, JsonElement entry) => Add(new StateWrite(key, StateWriteKind.Append, entry.Clone()));

    /// <summary>The writes collected so far (taken by the gateway after the tool returns).</summary>
    public IReadOnlyList<StateWrite> TakeWrites()
    {
        lock (_gate)
        {
            var writes = _writes.ToList();
            _writes.Clear();
            return writes;
        }
    }

    public async ValueTask<StateCommitResult> CommitAsync(CancellationToken cancellationToken)
    {
        if (Committed)
        {
            throw new InvalidOperationException("This call's state was already committed.");
        }

        var workflow = _declaration.Workflow;
        var batch = new StateBatch(_declaration.Plugin, TakeWrites())
        {
            ExpectedWorkflowState = workflow is null ? null : WorkflowState,
            InitialWorkflowState = workflow?.InitialState,
            NewWorkflowState = workflow is null || WorkflowState is null ? null : workflow.Next(WorkflowState, _tool, _reader),
            OperationId = Operation?.OperationId,
            OperationRecord = Operation?.Record,
        };
        var outcome = await _engine.CommitAsync(_actor, batch, cancellationToken);
        if (outcome.Result.Committed || outcome.Replayed is not null)
        {
            Committed = true;
            return outcome.Result;
        }

        // Nothing was applied: let the tool read the current state and try again.
        if (_actor.Current is { } current)
        {
            _reader = new SnapshotReader(current.Document, _declaration);
        }

        return outcome.Result;
    }

    /// <summary>An exclusive write expects the version this call read; other policies take no expectation.</summary>
    internal long? DefaultExpectation(string key)
        => _declaration.Keys.TryGetValue(key, out var declared) && declared.Policy == StatePolicy.Exclusive
            ? _reader.Document.Keys.GetValueOrDefault(key)?.Version ?? 0
            : null;

    private void Add(StateWrite write)
    {
        lock (_gate)
        {
            if (Committed)
            {
                throw new InvalidOperationException("This call's state was already committed; later writes would not be saved.");
            }

            _writes.Add(write);
        }
    }
}
