namespace Switchboard.Plugins;

/// <summary>
/// Holds the catalog snapshot currently served. Requests read <see cref="Current"/> once at their start; loaders
/// publish whole new snapshots, so no request ever sees a half-updated catalog.
/// </summary>
public sealed class ToolCatalog
{
    private CatalogSnapshot _current = CatalogSnapshot.Empty;
    private long _version;

    /// <summary>The snapshot currently served.</summary>
    public CatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>True once a first snapshot has been published.</summary>
    public bool IsLoaded => Volatile.Read(ref _version) > 0;

    /// <summary>Raised after a new snapshot is published (for <c>list_changed</c> notifications).</summary>
    public event EventHandler<CatalogSnapshot>? Changed;

    /// <summary>The version number the next published snapshot must carry.</summary>
    public long NextVersion => Interlocked.Read(ref _version) + 1;

    /// <summary>Publishes a new snapshot and notifies subscribers.</summary>
    public void Publish(CatalogSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Volatile.Write(ref _current, snapshot);
        Interlocked.Exchange(ref _version, snapshot.Version);
        Changed?.Invoke(this, snapshot);
    }
}
