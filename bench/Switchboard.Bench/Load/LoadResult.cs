namespace Switchboard.Bench.Load;

/// <summary>The outcome of one load run, as reported in the tables.</summary>
internal sealed record LoadResult
{
    /// <summary>The server (peer) name, set by the suite; empty for a single run.</summary>
    public string Server { get; init; } = string.Empty;

    public required string Transport { get; init; }

    public required string TransportDescription { get; init; }

    public required int Connections { get; init; }

    public required int InFlight { get; init; }

    /// <summary>The measured window, seconds.</summary>
    public required double Seconds { get; init; }

    /// <summary>Successful calls in the window.</summary>
    public required long Ok { get; init; }

    /// <summary>Failed calls in the window, all kinds.</summary>
    public required long Errors { get; init; }

    /// <summary>Failed calls in the window by kind (<see cref="CallCheck"/> names); only kinds that occurred.</summary>
    public required Dictionary<string, long> ErrorKinds { get; init; }

    /// <summary>Failures before the window (connecting, warm-up).</summary>
    public required long WarmupErrors { get; init; }

    /// <summary>Successful calls per second in the window.</summary>
    public required double Throughput { get; init; }

    public required LatencySummary Latency { get; init; }

    /// <summary>Server CPU in the window, percent of one core (200 = both cores of this machine); null when not sampled.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Highest server resident set size seen in the window, MiB; null when not sampled.</summary>
    public double? PeakRssMiB { get; init; }

    /// <summary>Load generator CPU in the window, percent of one core.</summary>
    public double? ClientCpuPercent { get; init; }

    public string? LoadAverageBefore { get; init; }

    public string? LoadAverageAfter { get; init; }

    /// <summary>"50" for HTTP, "50 × 8" for WebSocket connections × requests in flight.</summary>
    public string LoadDescription => InFlight > 1 || Transport.StartsWith("ws", StringComparison.Ordinal) || Transport == "raw-ws"
        ? $"{Connections} conn × {InFlight} in flight"
        : $"{Connections} conn";
}
