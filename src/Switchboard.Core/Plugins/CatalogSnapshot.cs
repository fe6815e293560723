using System.Collections.Frozen;

namespace Switchboard.Plugins;

/// <summary>
/// An immutable view of every tool the gateway serves, sorted by exposed name (ordinal). A request takes one snapshot
/// at its start and uses it throughout; reloads publish a new snapshot.
/// </summary>
public sealed class CatalogSnapshot
{
    private readonly FrozenDictionary<string, CatalogTool> _byName;

    public CatalogSnapshot(IEnumerable<CatalogTool> tools, IEnumerable<LoadedPlugin> plugins, long version)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(plugins);
        var sorted = tools.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        Tools = sorted;
        Plugins = plugins.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
        _byName = sorted.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
        Version = version;
    }

    /// <summary>An empty catalog.</summary>
    public static CatalogSnapshot Empty { get; } = new([], [], 0);

    /// <summary>All tools in deterministic order (ordinal by exposed name).</summary>
    public IReadOnlyList<CatalogTool> Tools { get; }

    /// <summary>The plugins that contributed to this snapshot, by name.</summary>
    public IReadOnlyList<LoadedPlugin> Plugins { get; }

    /// <summary>Increases with every published snapshot.</summary>
    public long Version { get; }

    public bool TryGetTool(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CatalogTool? tool)
        => _byName.TryGetValue(name, out tool);
}
