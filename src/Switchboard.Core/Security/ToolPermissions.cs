using System.Security.Claims;
using System.Text.Json;
using Switchboard.Plugins;

namespace Switchboard.Security;

/// <summary>
/// A pattern naming tools by plugin and the plugin's own tool name: <c>*</c>, <c>plugin/*</c> or <c>plugin/tool</c>.
/// Aliases do not change what a pattern covers: permissions follow the plugin's identity, not the exposed name.
/// </summary>
public readonly record struct ToolPattern(string Plugin, string Tool)
{
    public static bool TryParse(string text, out ToolPattern pattern)
    {
        pattern = default;
        if (text == "*")
        {
            pattern = new ToolPattern("*", "*");
            return true;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == text.Length - 1)
        {
            return false;
        }

        var plugin = text[..slash];
        var tool = text[(slash + 1)..];
        if (!ToolNaming.IsValidPluginName(plugin) || (tool != "*" && (tool.Contains('*', StringComparison.Ordinal) || tool.Length > 128 || tool.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))))
        {
            return false;
        }

        pattern = new ToolPattern(plugin, tool);
        return true;
    }

    public bool Matches(CatalogTool tool)
        => (Plugin == "*" || string.Equals(Plugin, tool.Plugin.Name, StringComparison.Ordinal))
            && (Tool == "*" || string.Equals(Tool, tool.LocalName, StringComparison.Ordinal));

    public override string ToString() => Plugin == "*" ? "*" : $"{Plugin}/{Tool}";
}

/// <summary>
/// The scope grammar for tools. Scopes are space-separated and compared exactly (case-sensitive, RFC 6749 §3.3):
/// <list type="bullet">
/// <item><c>tools:*</c> — every tool;</item>
/// <item><c>tools:plugin/*</c> — every tool of one plugin;</item>
/// <item><c>tools:plugin/tool</c> — one tool (the plugin's own tool name).</item>
/// </list>
/// Any other scope grants nothing by itself but can be named by a policy grant (with argument rules).
/// </summary>
public static class ToolScopes
{
    public const string Prefix = "tools:";

    /// <summary>The scope that allows exactly one tool.</summary>
    public static string For(CatalogTool tool) => $"{Prefix}{tool.Plugin.Name}/{tool.LocalName}";

    public static bool TryParse(string scope, out ToolPattern pattern)
    {
        pattern = default;
        return scope.StartsWith(Prefix, StringComparison.Ordinal) && ToolPattern.TryParse(scope[Prefix.Length..], out pattern);
    }

    /// <summary>Splits a <c>scope</c> claim on single spaces only (a tab or comma is part of a scope, so it grants nothing).</summary>
    public static IEnumerable<string> Split(string? scope)
        => string.IsNullOrEmpty(scope) ? [] : scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>One way a caller may call tools: the tools it covers and the argument rules that must hold.</summary>
public sealed record Grant(string Source, IReadOnlyList<ToolPattern> Tools, IReadOnlyList<ArgumentRule> Rules);

/// <summary>The decision for one tool call or one tool in a list.</summary>
public readonly record struct AccessDecision(bool Allowed, string? RequiredScope, ArgumentRule? FailedRule, string? FailedGrant)
{
    public static AccessDecision Allow { get; } = new(true, null, null, null);
}

/// <summary>
/// What one caller may do, computed from its scopes and roles against the policy. The same object answers
/// <c>tools/list</c> (may the caller see this tool: is any grant covering it?) and <c>tools/call</c> (is there a grant
/// covering it whose rules all hold for these arguments?), so a caller sees exactly the tools it may call.
/// </summary>
public sealed class CallerPermissions
{
    private readonly List<Grant> _grants;

    internal CallerPermissions(List<Grant> grants, string? tenant)
    {
        _grants = grants;
        Tenant = tenant;
    }

    public string? Tenant { get; }

    public bool CanSee(CatalogTool tool) => _grants.Any(g => g.Tools.Any(p => p.Matches(tool)));

    public AccessDecision Decide(CatalogTool tool, IDictionary<string, JsonElement>? arguments)
    {
        ArgumentRule? firstFailure = null;
        string? failedGrant = null;
        var covered = false;
        foreach (var grant in _grants)
        {
            if (!grant.Tools.Any(p => p.Matches(tool)))
            {
                continue;
            }

            covered = true;
            var failed = grant.Rules.FirstOrDefault(rule => !rule.Evaluate(arguments));
            if (failed is null)
            {
                return AccessDecision.Allow;
            }

            firstFailure ??= failed;
            failedGrant ??= grant.Source;
        }

        return covered
            ? new AccessDecision(false, null, firstFailure, failedGrant)
            : new AccessDecision(false, ToolScopes.For(tool), null, null);
    }

    /// <summary>Builds the permissions of a caller from its claims and the compiled policy.</summary>
    public static CallerPermissions For(ClaimsPrincipal user, CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(policy);
        var scopes = user.FindAll(SwitchboardClaims.Scope).SelectMany(c => ToolScopes.Split(c.Value)).ToHashSet(StringComparer.Ordinal);
        var roles = user.FindAll(SwitchboardClaims.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var grants = new List<Grant>();
        foreach (var scope in scopes)
        {
            if (ToolScopes.TryParse(scope, out var pattern))
            {
                grants.Add(new Grant("scope " + scope, [pattern], []));
            }
        }

        foreach (var grant in policy.Grants)
        {
            if ((grant.Scope is { } scope && scopes.Contains(scope)) || (grant.Role is { } role && roles.Contains(role)))
            {
                grants.Add(grant.Grant);
            }
        }

        return new CallerPermissions(grants, user.FindFirst(SwitchboardClaims.Tenant)?.Value);
    }
}

/// <summary>The policy after parsing and validation: grants keyed by the scope or role that confers them.</summary>
public sealed class CompiledPolicy
{
    private CompiledPolicy(IReadOnlyList<(string? Scope, string? Role, Grant Grant)> grants) => Grants = grants;

    public static CompiledPolicy Empty { get; } = new([]);

    public IReadOnlyList<(string? Scope, string? Role, Grant Grant)> Grants { get; }

    /// <summary>Parses every grant; an invalid policy is refused as a whole with every problem listed.</summary>
    public static CompiledPolicy Compile(PolicyOptions options, out IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var grants = new List<(string?, string?, Grant)>();
        for (var i = 0; i < options.Grants.Count; i++)
        {
            var grant = options.Grants[i];
            var where = $"Switchboard:Security:Policy:Grants:{i}";
            if (string.IsNullOrWhiteSpace(grant.Scope) == string.IsNullOrWhiteSpace(grant.Role))
            {
                errors.Add($"{where} must name exactly one of Scope or Role.");
            }

            if (grant.Scope is { } scope && (scope.Contains(' ', StringComparison.Ordinal) || scope.Length > 200))
            {
                errors.Add($"{where}:Scope '{scope}' must be one scope (no spaces).");
            }

            var patterns = new List<ToolPattern>();
            if (grant.Tools.Count == 0)
            {
                errors.Add($"{where}:Tools must list at least one tool pattern (plugin/tool, plugin/* or *).");
            }

            foreach (var text in grant.Tools)
            {
                if (ToolPattern.TryParse(text, out var pattern))
                {
                    patterns.Add(pattern);
                }
                else
                {
                    errors.Add($"{where}:Tools entry '{text}' is not a tool pattern (plugin/tool, plugin/* or *).");
                }
            }

            var rules = new List<ArgumentRule>();
            foreach (var text in grant.When)
            {
                if (ArgumentRule.TryParse(text, out var rule, out var error))
                {
                    rules.Add(rule!);
                }
                else
                {
                    errors.Add($"{where}:When rule '{text}': {error}.");
                }
            }

            var source = grant.Scope is not null ? "scope " + grant.Scope : "role " + grant.Role;
            grants.Add((grant.Scope, grant.Role, new Grant(source, patterns, rules)));
        }

        problems = errors;
        return new CompiledPolicy(grants);
    }
}
