using Switchboard.Bench.Load;
using Switchboard.Bench.Reports;

namespace Switchboard.Bench.Suite;

/// <summary>Everything one suite run measured; written as JSON beside the markdown so charts and comparisons can be redone.</summary>
internal sealed class SuiteReport
{
    public required MachineInfo Machine { get; init; }

    public required string Started { get; init; }

    public string? Finished { get; set; }

    /// <summary>A note printed at the top, for example "PRELIMINARY: measured while other builds ran".</summary>
    public string? Note { get; init; }

    public List<LoadResult> Load { get; init; } = [];

    public List<GoalResult> Goals { get; init; } = [];

    public List<ColdStartRow> ColdStart { get; init; } = [];

    public IdleResult? Idle { get; set; }
}

/// <summary>A goal and whether this run met it.</summary>
internal sealed record GoalResult(string Name, string Measured, string Target, bool? Met);

/// <summary>Cold start of one variant with a fresh or an existing data folder: medians over the measured runs.</summary>
internal sealed record ColdStartRow
{
    public required string Server { get; init; }

    public required string Transport { get; init; }

    public required string Data { get; init; }

    public required int Runs { get; init; }

    public required double ReadyMedianMs { get; init; }

    public required double FirstCallMedianMs { get; init; }

    public required double FirstCallMinMs { get; init; }

    public required double FirstCallMaxMs { get; init; }

    public required double IdleRssMedianMiB { get; init; }

    /// <summary>Failed first calls (a call after ready that did not succeed) over all runs.</summary>
    public required int FailedFirstCalls { get; init; }

    public string? LoadAverageBefore { get; init; }

    public string? LoadAverageAfter { get; init; }
}

/// <summary>Many idle WebSocket connections held by one server.</summary>
internal sealed record IdleResult
{
    public required string Server { get; init; }

    public required string Transport { get; init; }

    public required int Requested { get; init; }

    public required int Opened { get; init; }

    public required int HeldAtEnd { get; init; }

    public required double BaselineRssMiB { get; init; }

    public required double HeldRssMiB { get; init; }

    public double AddedRssMiB => HeldRssMiB - BaselineRssMiB;

    public double AddedKiBPerConnection => Opened > 0 ? AddedRssMiB * 1024 / Opened : 0;

    public required double OpenSeconds { get; init; }

    /// <summary>Server CPU while the connections sat idle, percent of one core.</summary>
    public required double IdleCpuPercent { get; init; }

    public string? LoadAverageBefore { get; init; }

    public string? LoadAverageAfter { get; init; }
}
