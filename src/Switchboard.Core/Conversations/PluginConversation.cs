using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.Security;

namespace Switchboard.Conversations;

/// <summary>
/// What a plugin declares about conversations: the state keys it reads and writes (with their policies) and, optionally,
/// its workflow. A plugin with a declaration runs its tools inside a conversation; one without is unaffected.
/// </summary>
public sealed partial class PluginConversation
{
    public PluginConversation(string plugin, IEnumerable<StateKeyDeclaration>? keys = null, ConversationWorkflow? workflow = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(plugin);
        Plugin = plugin;
        Keys = (keys ?? []).ToDictionary(k => k.Key, StringComparer.Ordinal);
        Workflow = workflow;
    }

    /// <summary>The plugin name.</summary>
    public string Plugin { get; }

    /// <summary>The keys the plugin may read and write, by name.</summary>
    public IReadOnlyDictionary<string, StateKeyDeclaration> Keys { get; }

    public ConversationWorkflow? Workflow { get; }

    /// <summary>True for a valid key name: lowercase letters, digits, '_', '-', '.', starting with a letter or digit.</summary>
    public static bool IsValidKey(string? key) => key is not null && KeyPattern().IsMatch(key);

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}

/// <summary>
/// A plugin's conversation declaration in configuration (<c>Switchboard:Upstreams:&lt;name&gt;:Conversation</c>), for
/// upstream plugins that cannot declare it in C#.
/// </summary>
public sealed class PluginConversationConfiguration
{
    /// <summary>The state keys the plugin reads and writes.</summary>
    public List<StateKeyConfiguration> Keys { get; set; } = [];

    /// <summary>The workflow, when the plugin has one.</summary>
    public WorkflowConfiguration? Workflow { get; set; }

    /// <summary>Builds the declaration; the problems found otherwise, each naming its setting.</summary>
    internal PluginConversation? ToDeclaration(string plugin, string section, List<string> problems)
    {
        var start = problems.Count;
        var keys = new List<StateKeyDeclaration>();
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            if (!PluginConversation.IsValidKey(key.Key))
            {
                problems.Add($"{section}:Keys:{i}:Key must be 1-64 of a-z, 0-9, '_', '-', '.' starting with a letter or digit.");
                continue;
            }

            if (!Enum.TryParse<StatePolicy>(key.Policy ?? nameof(StatePolicy.Exclusive), ignoreCase: true, out var policy) || !Enum.IsDefined(policy) || int.TryParse(key.Policy, out _))
            {
                problems.Add($"{section}:Keys:{i}:Policy must be one of exclusive, lww, counter, set, append, owner.");
                continue;
            }

            keys.Add(new StateKeyDeclaration(key.Key!, policy, policy == StatePolicy.Owner ? key.Owner ?? plugin : null));
        }

        ConversationWorkflow? workflow = null;
        if (Workflow is not null)
        {
            workflow = Workflow.Compile($"{section}:Workflow", problems);
        }

        return problems.Count == start ? new PluginConversation(plugin, keys, workflow) : null;
    }
}

/// <summary>One state key in configuration.</summary>
public sealed class StateKeyConfiguration
{
    public string? Key { get; set; }

    /// <summary><c>exclusive</c> (default), <c>lww</c>, <c>counter</c>, <c>set</c>, <c>append</c> or <c>owner</c>.</summary>
    public string? Policy { get; set; }

    /// <summary>For <c>owner</c>: the plugin that writes (default: the declaring plugin).</summary>
    public string? Owner { get; set; }
}

/// <summary>
/// A workflow in configuration. Compiled to the same Stateless machine as a C# workflow: each transition becomes a
/// guarded permit of the tool's trigger, <see cref="WorkflowStateConfiguration.Allow"/> an internal transition.
/// </summary>
public sealed class WorkflowConfiguration
{
    public string? InitialState { get; set; }

    /// <summary>The states by name.</summary>
    public Dictionary<string, WorkflowStateConfiguration> States { get; set; } = new(StringComparer.Ordinal);

    internal ConversationWorkflow? Compile(string section, List<string> problems)
    {
        var start = problems.Count;
        if (string.IsNullOrWhiteSpace(InitialState) || !States.ContainsKey(InitialState))
        {
            problems.Add($"{section}:InitialState must name one of the states.");
        }

        var compiled = new List<(string State, List<(string Trigger, string To, ArgumentRule[] When)> Transitions, List<string> Allow)>();
        foreach (var (name, state) in States)
        {
            var transitions = new List<(string, string, ArgumentRule[])>();
            for (var i = 0; i < state.Transitions.Count; i++)
            {
                var transition = state.Transitions[i];
                var at = $"{section}:States:{name}:Transitions:{i}";
                if (string.IsNullOrWhiteSpace(transition.Tool))
                {
                    problems.Add($"{at}:Tool must name one of the plugin's tools.");
                    continue;
                }

                if (string.IsNullOrWhiteSpace(transition.To) || !States.ContainsKey(transition.To))
                {
                    problems.Add($"{at}:To must name one of the states.");
                    continue;
                }

                var outcome = transition.Outcome ?? "success";
                if (outcome is not ("success" or "failure"))
                {
                    problems.Add($"{at}:Outcome must be 'success' or 'failure'.");
                    continue;
                }

                var rules = new List<ArgumentRule>();
                foreach (var text in transition.When)
                {
                    if (ArgumentRule.TryParse(text, out var rule, out var error))
                    {
                        rules.Add(rule!);
                    }
                    else
                    {
                        problems.Add($"{at}:When '{text}': {error}.");
                    }
                }

                var trigger = outcome == "failure" ? ConversationWorkflow.Failed(transition.Tool) : transition.Tool;
                transitions.Add((trigger, transition.To, rules.ToArray()));
            }

            compiled.Add((name, transitions, state.Allow.Where(a => !string.IsNullOrWhiteSpace(a)).ToList()));
        }

        if (problems.Count != start)
        {
            return null;
        }

        try
        {
            return ConversationWorkflow.Define(InitialState!, (machine, reader) =>
            {
                foreach (var (name, transitions, allow) in compiled)
                {
                    var state = machine.Configure(name);
                    foreach (var (trigger, to, when) in transitions)
                    {
                        var description = when.Length == 0 ? null : string.Join(" and ", when.Select(w => w.Text));
                        Func<bool> guard = when.Length == 0 ? static () => true : () => Holds(when, reader);
                        if (to == name)
                        {
                            state.PermitReentryIf(trigger, guard, description);
                        }
                        else
                        {
                            state.PermitIf(trigger, to, guard, description);
                        }
                    }

                    foreach (var tool in allow)
                    {
                        state.InternalTransition(tool, static () => { });
                    }
                }
            });
        }
        catch (InvalidOperationException ex)
        {
            // Stateless refuses contradictory set-ups (two unguarded permits of one trigger, for example).
            problems.Add($"{section}: {ex.Message}");
            return null;
        }
    }

    /// <summary>Guards read state keys as rule paths: <c>order exists</c>, <c>refund.amount &lt;= 100</c>.</summary>
    private static bool Holds(ArgumentRule[] rules, IConversationStateReader reader)
    {
        var view = new ReaderDictionary(reader);
        return rules.All(r => r.Evaluate(view));
    }

    /// <summary>Lets argument rules read state keys (only the lookups they make are implemented).</summary>
    private sealed class ReaderDictionary(IConversationStateReader reader) : IDictionary<string, JsonElement>
    {
        public JsonElement this[string key]
        {
            get => reader.Read(key)?.Value ?? throw new KeyNotFoundException(key);
            set => throw new NotSupportedException();
        }

        public bool TryGetValue(string key, out JsonElement value)
        {
            var found = reader.Read(key);
            value = found?.Value ?? default;
            return found is not null;
        }

        public bool ContainsKey(string key) => reader.Read(key) is not null;

        public ICollection<string> Keys => throw new NotSupportedException();

        public ICollection<JsonElement> Values => throw new NotSupportedException();

        public int Count => throw new NotSupportedException();

        public bool IsReadOnly => true;

        public void Add(string key, JsonElement value) => throw new NotSupportedException();

        public void Add(KeyValuePair<string, JsonElement> item) => throw new NotSupportedException();

        public void Clear() => throw new NotSupportedException();

        public bool Contains(KeyValuePair<string, JsonElement> item) => throw new NotSupportedException();

        public void CopyTo(KeyValuePair<string, JsonElement>[] array, int arrayIndex) => throw new NotSupportedException();

        public IEnumerator<KeyValuePair<string, JsonElement>> GetEnumerator() => throw new NotSupportedException();

        public bool Remove(string key) => throw new NotSupportedException();

        public bool Remove(KeyValuePair<string, JsonElement> item) => throw new NotSupportedException();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>One state of a configured workflow.</summary>
public sealed class WorkflowStateConfiguration
{
    /// <summary>Tools that move the conversation on from this state.</summary>
    public List<WorkflowTransitionConfiguration> Transitions { get; set; } = [];

    /// <summary>Gated tools that may run in this state without moving it.</summary>
    public List<string> Allow { get; set; } = [];
}

/// <summary>A transition: when <see cref="Tool"/> ends with <see cref="Outcome"/>, go to <see cref="To"/>, if <see cref="When"/> holds.</summary>
public sealed class WorkflowTransitionConfiguration
{
    /// <summary>The tool's own (un-namespaced) name.</summary>
    public string? Tool { get; set; }

    public string? To { get; set; }

    /// <summary><c>success</c> (default) or <c>failure</c> (the tool returned an <c>isError</c> result).</summary>
    public string? Outcome { get; set; }

    /// <summary>Guards on state keys, all of which must hold, in the argument-rule syntax (<c>order exists</c>).</summary>
    public List<string> When { get; set; } = [];
}
