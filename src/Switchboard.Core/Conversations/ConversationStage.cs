using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Security;
using Switchboard.Serialization;
using Switchboard.Transports.Mcp;

namespace Switchboard.Conversations;

/// <summary>
/// Pipeline stage (800): for tools of plugins that declare conversation keys or a workflow, gates the call on the
/// workflow's current state, replays a repeated operation id, hands the tool its state (in-process: an injected
/// <see cref="IConversationState"/>; upstream: a snapshot in <c>_meta</c>), and after the tool returns commits its writes
/// and transition as one atomic batch. Tools of other plugins pass straight through.
/// </summary>
internal sealed class ConversationStage(
    ConversationEngine engine,
    ConversationHandles handles,
    ConversationRegistry registry,
    ToolAccess access,
    IServiceProvider services,
    IOptions<ConversationOptions> options) : GatewayStage
{
    private const int MaxOperationIdLength = 128;

    public override string Name => "conversation";

    public override int Order => StageOrder.Conversation;

    public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var tool = context.Tool!;
        if (tool.Plugin.Name == ConversationTools.PluginName)
        {
            var owner = ConversationPrincipal.KeyOf(access.Caller(context.User, context.Transport));
            context.Services = new ConversationServices(RequestServices(context), null, new ConversationOpener(engine, handles, owner));
            return continuation(context, cancellationToken);
        }

        var declaration = registry.Find(tool.Plugin.Name);
        return declaration is null
            ? continuation(context, cancellationToken)
            : InvokeInConversationAsync(context, continuation, tool, declaration, cancellationToken);
    }

    public override async ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var outcome = await continuation(context, cancellationToken);
        if (!outcome.IsError && !registry.IsEmpty)
        {
            outcome = ToolListOutcome.FromTools(outcome.Tools.Select(t => registry.Find(t.Plugin.Name) is null ? t : ConversationToolSchemas.WithHandleArgument(t)).ToList());
        }

        if (outcome.IsError || !options.Value.ListFollowsState || context.ConversationId is null || ProtocolVersions.IsModern(context.ProtocolVersion)
            || await engine.GetAsync(context.ConversationId, cancellationToken) is not { Current: { } snapshot })
        {
            // 2026-07-28 lists never vary by conversation state.
            return outcome;
        }

        var visible = new List<CatalogTool>(outcome.Tools.Count);
        foreach (var tool in outcome.Tools)
        {
            if (registry.Find(tool.Plugin.Name) is not { Workflow: { } workflow } declaration || !workflow.GatedTools.Contains(tool.LocalName))
            {
                visible.Add(tool);
                continue;
            }

            var state = snapshot.Document.Workflows.GetValueOrDefault(tool.Plugin.Name) ?? workflow.InitialState;
            if (workflow.Allows(state, tool.LocalName, new SnapshotReader(snapshot.Document, declaration), out _))
            {
                visible.Add(tool);
            }
        }

        return ToolListOutcome.FromTools(visible);
    }

    private async ValueTask<ToolCallOutcome> InvokeInConversationAsync(
        ToolCallContext context,
        ToolCallHandler continuation,
        CatalogTool tool,
        PluginConversation declaration,
        CancellationToken cancellationToken)
    {
        if (context.ConversationId is null || await engine.GetAsync(context.ConversationId, cancellationToken) is not { } actor)
        {
            context.OutcomeKind = ToolCallOutcomeKind.OutOfState;
            return ToolCallOutcome.ToolErrorResult(
                $"Tool '{tool.Name}' keeps state in a conversation, and this call has none. Call conversation_open, then pass the handle it " +
                $"returns as the '{ConversationProtocol.HandleArgument}' argument (or in _meta \"{ConversationProtocol.HandleMetaKey}\", or the " +
                $"{ConversationProtocol.HandleHeader} header over REST).");
        }

        var operationId = OperationIdOf(context);
        IDisposable? running = null;
        if (operationId is not null)
        {
            if (operationId.Length is 0 or > MaxOperationIdLength)
            {
                context.OutcomeKind = ToolCallOutcomeKind.InvalidArguments;
                return ToolCallOutcome.ToolErrorResult($"The operation id must be 1-{MaxOperationIdLength} characters.");
            }

            // A second call with an id still running waits for the first, then finds its record.
            while (actor.WaitForRunningOperation(operationId, out running) is { } first)
            {
                await first.WaitAsync(cancellationToken);
            }
        }

        var fingerprint = Fingerprint(tool.Name, context.Arguments);
        var workflow = declaration.Workflow;
        var gate = workflow is not null && workflow.GatedTools.Contains(tool.LocalName) ? actor.WorkflowLock(tool.Plugin.Name) : null;
        try
        {
            if (operationId is not null && await engine.FindOperationAsync(actor, operationId, cancellationToken) is { } recorded)
            {
                return Replay(context, recorded, fingerprint);
            }

            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }

            try
            {
                return await RunAsync(context, continuation, tool, declaration, actor, operationId, fingerprint, cancellationToken);
            }
            finally
            {
                gate?.Release();
            }
        }
        finally
        {
            running?.Dispose();
        }
    }

    private async ValueTask<ToolCallOutcome> RunAsync(
        ToolCallContext context,
        ToolCallHandler continuation,
        CatalogTool tool,
        PluginConversation declaration,
        ConversationActor actor,
        string? operationId,
        string fingerprint,
        CancellationToken cancellationToken)
    {
        var snapshot = actor.Current;
        if (snapshot is null)
        {
            context.OutcomeKind = ToolCallOutcomeKind.OutOfState;
            return ToolCallOutcome.ToolErrorResult(ConversationEngine.ExpiredMessage);
        }

        var workflow = declaration.Workflow;
        var state = workflow is null ? null : snapshot.Document.Workflows.GetValueOrDefault(tool.Plugin.Name) ?? workflow.InitialState;
        var call = new ConversationCall(engine, actor, declaration, snapshot, tool.LocalName, state)
        {
            Operation = operationId is null ? null : (operationId, Record(fingerprint, null)),
        };
        if (workflow is not null && !workflow.Allows(state!, tool.LocalName, call.Reader, out var unmet))
        {
            context.OutcomeKind = ToolCallOutcomeKind.OutOfState;
            return ToolCallOutcome.ToolErrorResult(Refusal(context.Catalog, tool, workflow, state!, call.Reader, unmet));
        }

        var inProcess = tool.Invoker is InProcessToolInvoker;
        if (inProcess)
        {
            context.Services = new ConversationServices(RequestServices(context), call, null);
        }
        else
        {
            context.PluginMeta = UpstreamStateMeta.Snapshot(declaration, call.Reader, state);
        }

        var outcome = await continuation(context, cancellationToken);
        if (outcome.IsError)
        {
            return outcome;
        }

        var result = outcome.Result;
        IReadOnlyList<StateWrite> writes;
        if (inProcess)
        {
            writes = call.TakeWrites();
        }
        else if (!UpstreamStateMeta.TryTakeWrites(result, call, out writes, out var problem))
        {
            context.OutcomeKind = ToolCallOutcomeKind.StateConflict;
            return ToolCallOutcome.ToolErrorResult($"Tool '{tool.Name}' returned state writes that could not be read ({problem}); nothing was saved.");
        }

        if (call.Committed)
        {
            return result;
        }

        var succeeded = result.IsError != true && context.OutcomeKind is ToolCallOutcomeKind.Success or ToolCallOutcomeKind.Pending;
        var trigger = succeeded ? tool.LocalName : ConversationWorkflow.Failed(tool.LocalName);
        var next = workflow?.Next(state!, trigger, call.Reader);
        if (!succeeded)
        {
            // A failed call saves nothing; its failure may still move the workflow (a declared failure transition).
            if (next is not null && next != state)
            {
                await CommitAsync(context, actor, new StateBatch(tool.Plugin.Name, []) { ExpectedWorkflowState = state, InitialWorkflowState = workflow!.InitialState, NewWorkflowState = next }, cancellationToken);
            }

            return result;
        }

        if (writes.Count == 0 && (next is null || next == state) && operationId is null)
        {
            return result;
        }

        var batch = new StateBatch(tool.Plugin.Name, writes)
        {
            ExpectedWorkflowState = state,
            InitialWorkflowState = workflow?.InitialState,
            NewWorkflowState = next,
            OperationId = operationId,
            OperationRecord = operationId is null ? null : Record(fingerprint, result),
        };
        var committed = await CommitAsync(context, actor, batch, cancellationToken);
        if (committed.Replayed is { } replayed)
        {
            return Replay(context, replayed, fingerprint);
        }

        if (!committed.Result.Committed)
        {
            context.OutcomeKind = ToolCallOutcomeKind.StateConflict;
            return ToolCallOutcome.ToolErrorResult($"Tool '{tool.Name}' ran, but its changes were not saved. {committed.Result.Message}");
        }

        return result;
    }

    private async ValueTask<CommitOutcome> CommitAsync(ToolCallContext context, ConversationActor actor, StateBatch batch, CancellationToken cancellationToken)
    {
        var before = actor.Current?.Document.Workflows.GetValueOrDefault(batch.Plugin);

        // The call's work is done: losing the caller now must not leave its effects half-recorded.
        var outcome = await engine.CommitAsync(actor, batch, CancellationToken.None);
        var after = actor.Current?.Document.Workflows.GetValueOrDefault(batch.Plugin);
        if (outcome.Result.Committed && before != after && options.Value.ListFollowsState
            && context.McpRequest?.Server is { } server && !ProtocolVersions.IsModern(context.ProtocolVersion) && server.NegotiatedProtocolVersion is not null)
        {
            try
            {
                await server.SendNotificationAsync(NotificationMethods.ToolListChangedNotification, cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The client sees the change on its next tools/list.
            }
        }

        return outcome;
    }

    private static CallToolResult Replay(ToolCallContext context, StoredOperation recorded, string fingerprint)
    {
        var record = JsonSerializer.Deserialize(recorded.Result.Span, SwitchboardJsonContext.Default.OperationRecord);
        if (record is null || record.Fingerprint != fingerprint)
        {
            context.OutcomeKind = ToolCallOutcomeKind.InvalidArguments;
            return ToolCallOutcome.ToolErrorResult("This operation id was already used for a different call in this conversation. Use a new operation id for a new call.");
        }

        context.OutcomeKind = ToolCallOutcomeKind.Success;
        var result = record.Result is { } json
            ? json.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<CallToolResult>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult)))!
            : new CallToolResult { Content = [new TextContentBlock { Text = "This operation was already applied; its effects are saved in the conversation." }] };
        result.Meta ??= [];
        result.Meta["dev.switchboard/replayed"] = true;
        return result;
    }

    private static byte[] Record(string fingerprint, CallToolResult? result)
    {
        JsonElement? json = result is null
            ? null
            : JsonSerializer.SerializeToElement(result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult)));
        return JsonSerializer.SerializeToUtf8Bytes(new OperationRecord(fingerprint, json), SwitchboardJsonContext.Default.OperationRecord);
    }

    /// <summary>The tool and its arguments, hashed: a replayed operation id must come with the same call.</summary>
    private static string Fingerprint(string tool, IDictionary<string, JsonElement>? arguments)
    {
        var text = new StringBuilder(tool).Append('\0');
        foreach (var (name, value) in (arguments ?? new Dictionary<string, JsonElement>()).OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            text.Append(name).Append('=').Append(value.GetRawText()).Append('\0');
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string? OperationIdOf(ToolCallContext context)
        => context.Meta?[ConversationProtocol.OperationMetaKey] is JsonValue value && value.TryGetValue<string>(out var id) ? id : context.OperationId;

    /// <summary>The refusal the model reads: the state, the tools that lead on from it, and the condition that failed.</summary>
    private static string Refusal(CatalogSnapshot catalog, CatalogTool tool, ConversationWorkflow workflow, string state, IConversationStateReader reader, IReadOnlyCollection<string> unmet)
    {
        var exposed = catalog.Tools.Where(t => ReferenceEquals(t.Plugin, tool.Plugin)).ToDictionary(t => t.LocalName, t => t.Name, StringComparer.Ordinal);
        var next = workflow.AllowedTools(state, reader).Select(t => exposed.GetValueOrDefault(t, t)).ToList();
        var text = new StringBuilder()
            .Append($"Tool '{tool.Name}' cannot run now: this conversation's '{tool.Plugin.Name}' workflow is in state '{state}'.");
        if (unmet.Count > 0)
        {
            text.Append(" Its condition does not hold yet: ").Append(string.Join("; ", unmet)).Append('.');
        }

        text.Append(next.Count > 0
            ? $" Tools that lead on from here: {string.Join(", ", next)}. Call one of them first, then retry."
            : " No tool of this workflow can run in this state.");
        return text.ToString();
    }

    private IServiceProvider RequestServices(ToolCallContext context) => context.Services ?? context.McpRequest?.Services ?? services;
}
