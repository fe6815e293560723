namespace Switchboard.Bench.Suite;

/// <summary>
/// The whole benchmark as data (bench/suite.json): the servers and how to start them, the load matrix, the goals, the
/// cold-start variants and the idle-connection run. Strings may use placeholders: <c>{port}</c>, <c>{data}</c>,
/// <c>{sink}</c> (the OTLP sink's port), <c>{root}</c> (repository), <c>{bench}</c>, <c>{out}</c> (build output),
/// <c>{node}</c>, <c>{text}</c>, <c>{engine}</c> (the container engine: <c>SWITCHBOARD_CONTAINER_ENGINE</c>, default podman).
/// </summary>
internal sealed class SuiteConfig
{
    public double WarmupSeconds { get; set; } = 5;

    public double DurationSeconds { get; set; } = 15;

    public double TimeoutSeconds { get; set; } = 5;

    public string Text { get; set; } = Switchboard.Bench.Load.CallTarget.DefaultText;

    /// <summary>Servers by name.</summary>
    public Dictionary<string, TargetConfig> Targets { get; set; } = [];

    /// <summary>The load matrix, run in order, each run on a freshly started server.</summary>
    public List<LoadRunConfig> Load { get; set; } = [];

    public List<GoalConfig> Goals { get; set; } = [];

    public ColdStartConfig? ColdStart { get; set; }

    public IdleConfig? Idle { get; set; }
}

/// <summary>How to start one server and call its echo tool.</summary>
internal sealed class TargetConfig
{
    /// <summary>The name in tables, for example "Switchboard (all stages on, JIT)".</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>What runs in the request path: for Switchboard, the stages this profile turns on.</summary>
    public string? Stages { get; set; }

    public string Command { get; set; } = string.Empty;

    public List<string> Args { get; set; } = [];

    public Dictionary<string, string> Env { get; set; } = [];

    /// <summary>A path answering 200 when the server is ready (<c>/readyz</c>), or <c>tcp</c> for "accepts connections".</summary>
    public string Ready { get; set; } = "tcp";

    /// <summary>Headers every request sends (an <c>Authorization</c> bearer token once authentication lands).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    public string Tool { get; set; } = "text_echo";

    public string Argument { get; set; } = "text";

    /// <summary>The text a correct answer carries; <c>{text}</c> is the text sent.</summary>
    public string Expect { get; set; } = "{text}";

    /// <summary>Another target started first and stopped after (the OTLP sink); its port is <c>{sink}</c>.</summary>
    public string? Sidecar { get; set; }

    /// <summary>
    /// Commands run before the server starts, with the server's <c>{port}</c> and <c>{data}</c> already chosen (for
    /// example issuing a bearer token into the fresh data folder). Not part of any measured time.
    /// </summary>
    public List<PrepareStep> Prepare { get; set; } = [];

    /// <summary>
    /// When the started process is not the server (a container engine's client), a command whose last line of output is
    /// the server's process id, run once it is ready; memory and CPU are then read from that process.
    /// </summary>
    public PrepareStep? PidOf { get; set; }

    /// <summary>
    /// A command run after the started process has ended, whatever happened (a container the engine's client left
    /// behind when it had to be killed); its failure is ignored.
    /// </summary>
    public PrepareStep? Cleanup { get; set; }
}

/// <summary>One command run before a server starts; its last line of output can become a placeholder.</summary>
internal sealed class PrepareStep
{
    public string Command { get; set; } = string.Empty;

    public List<string> Args { get; set; } = [];

    public Dictionary<string, string> Env { get; set; } = [];

    /// <summary>The placeholder that receives the last non-empty line of standard output (e.g. <c>token</c> for <c>{token}</c>).</summary>
    public string? Capture { get; set; }
}

/// <summary>One cell of the load matrix.</summary>
internal sealed class LoadRunConfig
{
    public string Target { get; set; } = string.Empty;

    public string Transport { get; set; } = string.Empty;

    public int Connections { get; set; } = 50;

    public int InFlight { get; set; } = 1;

    public double? DurationSeconds { get; set; }
}

/// <summary>A goal checked against the load results: a throughput ratio with a minimum, or a p99 with a maximum.</summary>
internal sealed class GoalConfig
{
    public string Name { get; set; } = string.Empty;

    /// <summary><c>ratio</c> (numerator throughput / denominator throughput ≥ <see cref="Min"/>) or <c>p99</c> (p99 of <see cref="Run"/> ≤ <see cref="Max"/> ms).</summary>
    public string Kind { get; set; } = "ratio";

    public RunRef? Numerator { get; set; }

    public RunRef? Denominator { get; set; }

    public RunRef? Run { get; set; }

    public double? Min { get; set; }

    public double? Max { get; set; }
}

/// <summary>Names one run of the load matrix.</summary>
internal sealed class RunRef
{
    public string Target { get; set; } = string.Empty;

    public string Transport { get; set; } = string.Empty;

    public int Connections { get; set; } = 50;

    public int InFlight { get; set; } = 1;
}

internal sealed class ColdStartConfig
{
    /// <summary>Measured starts per variant and data folder state (one more is run first and discarded).</summary>
    public int Runs { get; set; } = 10;

    /// <summary>Calls made after the first one before idle memory is read.</summary>
    public int WarmupCalls { get; set; } = 200;

    /// <summary>Seconds of quiet after the warm-up calls before idle memory is read.</summary>
    public double IdleSeconds { get; set; } = 2;

    public List<ColdStartVariant> Variants { get; set; } = [];

    /// <summary>Goal for start → first successful call of the variant named in <see cref="GoalVariant"/>, ms.</summary>
    public double? GoalFirstCallMs { get; set; }

    /// <summary>Goal for idle RSS of <see cref="GoalVariant"/>, MiB.</summary>
    public double? GoalIdleRssMiB { get; set; }

    public string? GoalVariant { get; set; }
}

internal sealed class ColdStartVariant
{
    public string Target { get; set; } = string.Empty;

    public string Transport { get; set; } = "mcp-modern";

    /// <summary>Also measure with a data folder a previous start created (Switchboard's SQLite file already migrated).</summary>
    public bool ExistingData { get; set; } = true;
}

internal sealed class IdleConfig
{
    public string Target { get; set; } = string.Empty;

    public int Connections { get; set; } = 10_000;

    /// <summary>ws-modern or ws-legacy: each connection makes one call (and the handshake for legacy) before it idles.</summary>
    public string Transport { get; set; } = "ws-modern";

    /// <summary>Seconds to hold the connections before measuring.</summary>
    public double HoldSeconds { get; set; } = 10;

    /// <summary>Calls each connection makes, one after another, before it idles.</summary>
    public int CallsPerConnection { get; set; } = 1;

    public double? GoalAddedRssMiB { get; set; }
}
