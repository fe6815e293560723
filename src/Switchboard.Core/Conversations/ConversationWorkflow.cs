using Stateless;

namespace Switchboard.Conversations;

/// <summary>Reads a conversation's state (a snapshot taken when the call started).</summary>
public interface IConversationStateReader
{
    /// <summary>The key's value and version, or null when the key has never been written.</summary>
    StateValue? Read(string key);
}

/// <summary>
/// A plugin's workflow: states, and which of its tools may run in which state and where their outcomes lead. It is a
/// Stateless state machine whose triggers are the plugin's own tool names: a tool is allowed in a state when its trigger
/// can fire there (guards included), and when it succeeds the trigger fires and the conversation moves on. A tool that
/// no state mentions is never gated. <see cref="Failed"/> names the trigger fired when a tool returns an error.
/// </summary>
/// <remarks>
/// The machine is configured anew for each decision, with guards reading the conversation's state, so configure only
/// states, triggers and guards: entry and exit actions would run on every decision. Upstream plugins declare the same
/// thing in configuration (<see cref="WorkflowConfiguration"/>).
/// </remarks>
public sealed class ConversationWorkflow
{
    private readonly Action<StateMachine<string, string>, IConversationStateReader> _configure;

    private ConversationWorkflow(string initialState, Action<StateMachine<string, string>, IConversationStateReader> configure)
    {
        InitialState = initialState;
        _configure = configure;

        // The gated tools and the known states come from the machine's own description.
        var info = Build(initialState, EmptyReader.Instance, out _).GetInfo();
        var tools = new SortedSet<string>(StringComparer.Ordinal);
        var states = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var state in info.States)
        {
            states.Add((string)state.UnderlyingState);
            foreach (var transition in state.FixedTransitions)
            {
                AddTrigger((string)transition.Trigger.UnderlyingTrigger);
            }

            foreach (var transition in state.DynamicTransitions)
            {
                AddTrigger((string)transition.Trigger.UnderlyingTrigger);
            }

            foreach (var ignored in state.IgnoredTriggers)
            {
                AddTrigger((string)ignored.Trigger.UnderlyingTrigger);
            }
        }

        GatedTools = tools;
        States = states;

        void AddTrigger(string trigger)
        {
            if (!trigger.EndsWith(FailedSuffix, StringComparison.Ordinal))
            {
                tools.Add(trigger);
            }
        }
    }

    private const string FailedSuffix = ":failed";

    /// <summary>The state a conversation starts in.</summary>
    public string InitialState { get; }

    /// <summary>The plugin's tools (own names) that the workflow gates.</summary>
    public IReadOnlySet<string> GatedTools { get; }

    /// <summary>Every state the machine mentions.</summary>
    public IReadOnlySet<string> States { get; }

    /// <summary>Describes a workflow in C#: <paramref name="configure"/> sets up the states on the machine it is given.</summary>
    public static ConversationWorkflow Define(string initialState, Action<StateMachine<string, string>, IConversationStateReader> configure)
    {
        ArgumentException.ThrowIfNullOrEmpty(initialState);
        ArgumentNullException.ThrowIfNull(configure);
        return new ConversationWorkflow(initialState, configure);
    }

    /// <summary>The trigger fired when <paramref name="tool"/> returns an <c>isError</c> result.</summary>
    public static string Failed(string tool) => tool + FailedSuffix;

    /// <summary>Whether <paramref name="tool"/> may run in <paramref name="state"/>; the unmet guard descriptions when not.</summary>
    internal bool Allows(string state, string tool, IConversationStateReader reader, out IReadOnlyCollection<string> unmetGuards)
    {
        unmetGuards = [];
        if (!GatedTools.Contains(tool))
        {
            return true;
        }

        var machine = Build(state, reader, out _);
        var allowed = machine.CanFire(tool, out var unmet);
        if (!allowed && unmet is not null)
        {
            // Stateless gives no list when the trigger is not configured in the state at all.
            unmetGuards = [.. unmet];
        }

        return allowed;
    }

    /// <summary>The gated tools that may run in <paramref name="state"/>, in name order.</summary>
    internal IReadOnlyList<string> AllowedTools(string state, IConversationStateReader reader)
    {
        var machine = Build(state, reader, out _);
        return GatedTools.Where(machine.CanFire).ToList();
    }

    /// <summary>Where <paramref name="trigger"/> leads from <paramref name="state"/>, or null when it cannot fire there.</summary>
    internal string? Next(string state, string trigger, IConversationStateReader reader)
    {
        var machine = Build(state, reader, out var current);
        if (!machine.CanFire(trigger))
        {
            return null;
        }

        machine.Fire(trigger);
        return current.Value;
    }

    private StateMachine<string, string> Build(string state, IConversationStateReader reader, out StrongBox current)
    {
        var box = new StrongBox { Value = state };
        current = box;
        var machine = new StateMachine<string, string>(() => box.Value, s => box.Value = s, FiringMode.Immediate);
        _configure(machine, reader);
        return machine;
    }

    /// <summary>Holds the machine's state outside it (Stateless reads and writes it through accessors).</summary>
    private sealed class StrongBox
    {
        public string Value { get; set; } = string.Empty;
    }

    private sealed class EmptyReader : IConversationStateReader
    {
        public static readonly EmptyReader Instance = new();

        public StateValue? Read(string key) => null;
    }
}
