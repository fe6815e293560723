using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Plugins;

/// <summary>
/// The rules that turn a plugin's tool name into the name clients see.
/// <list type="bullet">
/// <item>Plugin names are lowercase letters, digits and hyphens (<c>^[a-z][a-z0-9-]{0,31}$</c>): no underscore.</item>
/// <item>The exposed name is <c>{plugin}_{tool}</c>. Since plugin names hold no underscore, the first underscore
/// always separates plugin from tool, so two different (plugin, tool) pairs never produce the same name.</item>
/// <item>Characters outside <c>[A-Za-z0-9_-]</c> (MCP allows dots, Claude does not) become <c>-</c>.</item>
/// <item>A name longer than the limit keeps its start and ends in <c>-</c> plus six characters of a hash of the full
/// name, so it stays deterministic.</item>
/// </list>
/// Whatever the rules produce, the catalog still checks every exposed name for collisions at load.
/// </summary>
public static partial class ToolNaming
{
    /// <summary>The longest exposed name any client accepts (Claude's own limit).</summary>
    public const int AbsoluteMaxLength = 64;

    private const int HashSuffixLength = 7;
    private static readonly SearchValues<char> s_allowed = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex PluginNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ExposedNamePattern();

    /// <summary>True when <paramref name="name"/> is a valid plugin name.</summary>
    public static bool IsValidPluginName(string? name) => name is not null && PluginNamePattern().IsMatch(name);

    /// <summary>True when <paramref name="name"/> satisfies Claude's tool-name rule <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
    public static bool IsValidExposedName(string? name) => name is not null && ExposedNamePattern().IsMatch(name);

    /// <summary>Builds the exposed name for a tool.</summary>
    /// <param name="prefix">The plugin's prefix (normally its name); empty for none.</param>
    /// <param name="toolName">The tool's own name as the plugin declares it.</param>
    /// <param name="maxLength">The longest name allowed.</param>
    public static string Expose(string prefix, string toolName, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentException.ThrowIfNullOrEmpty(toolName);
        if (maxLength is < HashSuffixLength + 2 or > AbsoluteMaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"The name limit must be between {HashSuffixLength + 2} and {AbsoluteMaxLength}.");
        }

        var full = prefix.Length == 0 ? Sanitize(toolName) : string.Concat(prefix, "_", Sanitize(toolName));
        if (full.Length <= maxLength)
        {
            return full;
        }

        // Keep the readable start and make the end unique to the full original name.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(prefix + "\n" + toolName));
        return string.Concat(full.AsSpan(0, maxLength - HashSuffixLength), "-", Base32Lower(hash).AsSpan(0, HashSuffixLength - 1));
    }

    private static string Sanitize(string name)
    {
        if (name.AsSpan().IndexOfAnyExcept(s_allowed) < 0)
        {
            return name;
        }

        return string.Create(name.Length, name, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = s_allowed.Contains(source[i]) ? source[i] : '-';
            }
        });
    }

    private static string Base32Lower(ReadOnlySpan<byte> bytes)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var builder = new StringBuilder((bytes.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                builder.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            builder.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }

        return builder.ToString();
    }
}
