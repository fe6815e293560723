namespace Switchboard.Plugins;

/// <summary>
/// The plugin set or its configuration cannot be served (invalid names, collisions, unknown plugins in settings).
/// Raised at start-up, so the server refuses to start instead of serving an ambiguous catalog.
/// </summary>
public sealed class PluginConfigurationException : Exception
{
    public PluginConfigurationException(IReadOnlyList<string> problems)
        : base(FormatMessage(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string FormatMessage(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 1
            ? "Plugin configuration is invalid: " + problems[0]
            : "Plugin configuration is invalid:" + string.Concat(problems.Select(p => Environment.NewLine + "  - " + p));
    }
}
