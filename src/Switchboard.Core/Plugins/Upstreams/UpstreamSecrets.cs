using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Secret references in upstream header and environment values: <c>{env:NAME}</c> is replaced by the gateway's
/// environment variable NAME and <c>{file:/path}</c> by the file's content (one trailing line break removed). They are
/// resolved each time the upstream is connected, so rotated files are picked up on the next restart, and the resolved
/// values are never logged or shown: problems name the variable or file, never a value.
/// </summary>
internal static partial class UpstreamSecrets
{
    [GeneratedRegex(@"\{(?<kind>env|file):(?<name>[^{}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    /// <summary>True when the value holds at least one reference.</summary>
    public static bool HasReference(string value) => Reference().IsMatch(value);

    /// <summary>Checks the syntax of every reference in a value and that each one resolves now.</summary>
    public static void Check(string value, string setting, List<string> problems)
    {
        foreach (Match match in Reference().Matches(value))
        {
            var name = match.Groups["name"].Value;
            if (match.Groups["kind"].Value == "env")
            {
                if (!VariableName().IsMatch(name))
                {
                    problems.Add($"{setting} refers to '{{env:{name}}}', which is not a valid environment variable name.");
                }
                else if (System.Environment.GetEnvironmentVariable(name) is null)
                {
                    problems.Add($"{setting} refers to environment variable '{name}', which is not set.");
                }
            }
            else if (name.Length == 0 || !Path.IsPathFullyQualified(name))
            {
                problems.Add($"{setting} refers to file '{name}': use an absolute path, as in {{file:/run/secrets/token}}.");
            }
            else if (!File.Exists(name))
            {
                problems.Add($"{setting} refers to file '{name}', which does not exist.");
            }
        }
    }

    /// <summary>Replaces every reference with its value; a missing variable or unreadable file is a problem naming it.</summary>
    public static bool TryResolve(string value, string setting, out string resolved, out string? problem)
    {
        problem = null;
        if (!HasReference(value))
        {
            resolved = value;
            return true;
        }

        var builder = new StringBuilder(value.Length);
        var last = 0;
        foreach (Match match in Reference().Matches(value))
        {
            builder.Append(value, last, match.Index - last);
            last = match.Index + match.Length;
            var name = match.Groups["name"].Value;
            if (match.Groups["kind"].Value == "env")
            {
                var variable = System.Environment.GetEnvironmentVariable(name);
                if (variable is null)
                {
                    problem = $"{setting} refers to environment variable '{name}', which is not set.";
                    resolved = string.Empty;
                    return false;
                }

                builder.Append(variable);
            }
            else
            {
                try
                {
                    var content = File.ReadAllText(name);
                    builder.Append(content.EndsWith("\r\n", StringComparison.Ordinal) ? content[..^2]
                        : content.EndsWith('\n') ? content[..^1]
                        : content);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    // The exception message is left out: it is about the file, but keep errors uniform and value-free.
                    problem = $"{setting} refers to file '{name}', which cannot be read ({ex.GetType().Name}).";
                    resolved = string.Empty;
                    return false;
                }
            }
        }

        builder.Append(value, last, value.Length - last);
        resolved = builder.ToString();
        return true;
    }
}
