namespace Switchboard.Hosting;

/// <summary>What <c>switchboard serve</c> was asked for on its command line. Null means "not given".</summary>
public sealed class ServeSettings
{
    /// <summary>Listen addresses (<c>--urls</c>).</summary>
    public string? Urls { get; init; }

    /// <summary>Data folder (<c>--data</c>).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>JSON configuration file (<c>--config</c>).</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Turn authentication off (<c>--no-auth</c>); refused unless every listen address is loopback.</summary>
    public bool NoAuthentication { get; init; }

    /// <summary>Serve the MCP conformance fixtures (<c>--conformance-fixtures</c>).</summary>
    public bool ConformanceFixtures { get; init; }

    /// <summary>
    /// Set by the <c>switchboard</c> executable's commands: the process is Switchboard's alone, so process-wide defaults
    /// such as <see cref="SwitchboardOptions.CompactHeapWhenIdle"/> apply (configuration can still turn them off).
    /// </summary>
    public bool OwnsProcess { get; init; }

    /// <summary>Extra configuration values applied last (tests and embedding hosts).</summary>
    public IReadOnlyDictionary<string, string?>? ConfigurationOverrides { get; init; }

    /// <summary>Where the start-up banner goes; standard output when null.</summary>
    public TextWriter? BannerWriter { get; init; }
}
