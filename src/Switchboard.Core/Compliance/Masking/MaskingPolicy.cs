using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance.Masking;

/// <summary>What happens to one detected value.</summary>
public enum MaskingAction
{
    /// <summary>Passed through unchanged (still counted in the audit record).</summary>
    Allow,

    /// <summary>Partially hidden: <c>138****5678</c>, <c>j***@example.com</c>.</summary>
    Mask,

    /// <summary>Replaced by its entity type: <c>[EMAIL]</c>.</summary>
    Redact,

    /// <summary>Replaced by a keyed HMAC pseudonym, stable per tenant: <c>[EMAIL:5f1c0e9a2b7d4c31]</c>.</summary>
    Hash,

    /// <summary>
    /// Reversible within one conversation: results carry <c>«EMAIL_1»</c>, and the plugin receives the original when the
    /// caller sends the token back in arguments. Without a conversation it falls back to <see cref="Redact"/>.
    /// </summary>
    Tokenize,

    /// <summary>The call (arguments) or the result is refused with a tool error naming the data class.</summary>
    Block,
}

/// <summary>Which way data flows through the gateway.</summary>
public enum MaskingDirection
{
    /// <summary>Tool arguments, before the plugin runs.</summary>
    Arguments,

    /// <summary>Tool results, before the caller (Claude) sees them.</summary>
    Results,
}

internal static class MaskingActionNames
{
    public static string ToName(this MaskingAction action) => action.ToString().ToLowerInvariant();

    public static string ToName(this MaskingDirection direction) => direction == MaskingDirection.Arguments ? "arguments" : "results";

    public static bool TryParse(string? value, out MaskingAction action) => Enum.TryParse(value?.Trim(), ignoreCase: true, out action) && Enum.IsDefined(action);
}

/// <summary>
/// The policy in force, compiled once from <see cref="ComplianceOptions"/>. Resolution goes from the most specific level
/// to the least: field → tool → plugin → <c>Policy</c> → built-in defaults; at each level the most specific key wins:
/// entity type → category (<c>secret</c>/<c>pii</c>) → data class → <c>*</c>.
/// </summary>
public sealed class MaskingPolicy
{
    /// <summary>
    /// The defaults out of the box: secrets are redacted in both directions; personal data of class confidential or
    /// restricted is masked in results; everything else passes.
    /// </summary>
    public static readonly DirectionRules BuiltInDefaults = new()
    {
        Arguments = new(StringComparer.OrdinalIgnoreCase) { ["secret"] = "redact" },
        Results = new(StringComparer.OrdinalIgnoreCase) { ["secret"] = "redact", ["confidential"] = "mask", ["restricted"] = "mask" },
    };

    private readonly Level _defaults;
    private readonly Level _global;
    private readonly Dictionary<string, PluginLevel> _plugins;

    public MaskingPolicy(ComplianceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _defaults = Level.From(BuiltInDefaults);
        _global = Level.From(options.Policy);
        _plugins = new Dictionary<string, PluginLevel>(StringComparer.Ordinal);
        foreach (var (plugin, settings) in options.Plugins)
        {
            var tools = new Dictionary<string, ToolLevel>(StringComparer.Ordinal);
            foreach (var (tool, toolSettings) in settings.Tools)
            {
                var fields = toolSettings.Fields
                    .Select(f => (Path: f.Key.Split('.', StringSplitOptions.RemoveEmptyEntries), Rules: Level.From(f.Value)))
                    .OrderByDescending(f => f.Path.Length)
                    .ToList();
                tools[tool] = new ToolLevel(Level.From(toolSettings), fields);
            }

            _plugins[plugin] = new PluginLevel(Level.From(settings), tools);
        }
    }

    /// <summary>True when no plugin, tool or field overrides exist and every level is empty for this direction except the defaults.</summary>
    public bool HasOverrides(string plugin) => _plugins.ContainsKey(plugin);

    /// <summary>The action for a finding at <paramref name="path"/> (property names, no array indices) of a tool's arguments or result.</summary>
    public MaskingAction Resolve(string? plugin, string? tool, IReadOnlyList<string> path, MaskingDirection direction, in Finding finding)
    {
        if (plugin is not null && _plugins.TryGetValue(plugin, out var pluginLevel))
        {
            if (tool is not null && pluginLevel.Tools.TryGetValue(tool, out var toolLevel))
            {
                foreach (var (pattern, rules) in toolLevel.Fields)
                {
                    if (Covers(pattern, path) && rules.TryResolve(direction, finding, out var fieldAction))
                    {
                        return fieldAction;
                    }
                }

                if (toolLevel.Rules.TryResolve(direction, finding, out var toolAction))
                {
                    return toolAction;
                }
            }

            if (pluginLevel.Rules.TryResolve(direction, finding, out var pluginAction))
            {
                return pluginAction;
            }
        }

        if (_global.TryResolve(direction, finding, out var globalAction))
        {
            return globalAction;
        }

        return _defaults.TryResolve(direction, finding, out var defaultAction) ? defaultAction : MaskingAction.Allow;
    }

    /// <summary>True when a field pattern (a path prefix, '*' for one segment) covers the leaf path.</summary>
    internal static bool Covers(string[] pattern, IReadOnlyList<string> path)
    {
        if (pattern.Length > path.Count)
        {
            return false;
        }

        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != "*" && !string.Equals(pattern[i], path[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record PluginLevel(Level Rules, Dictionary<string, ToolLevel> Tools);

    private sealed record ToolLevel(Level Rules, List<(string[] Path, Level Rules)> Fields);

    private sealed class Level(Dictionary<string, MaskingAction> arguments, Dictionary<string, MaskingAction> results)
    {
        public static Level From(DirectionRules rules) => new(Parse(rules.Arguments), Parse(rules.Results));

        public bool TryResolve(MaskingDirection direction, in Finding finding, out MaskingAction action)
        {
            var map = direction == MaskingDirection.Arguments ? arguments : results;
            if (map.Count == 0)
            {
                action = default;
                return false;
            }

            return map.TryGetValue(finding.EntityType, out action)
                || map.TryGetValue(finding.Category == EntityCategory.Secret ? "secret" : "pii", out action)
                || map.TryGetValue(finding.Class.ToName(), out action)
                || map.TryGetValue("*", out action);
        }

        private static Dictionary<string, MaskingAction> Parse(Dictionary<string, string> source)
        {
            var parsed = new Dictionary<string, MaskingAction>(StringComparer.OrdinalIgnoreCase);
            foreach (var (key, value) in source)
            {
                // The validator has already refused unknown actions; skip defensively.
                if (MaskingActionNames.TryParse(value, out var action))
                {
                    parsed[key] = action;
                }
            }

            return parsed;
        }
    }
}
