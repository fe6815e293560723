using System.Diagnostics;
using System.Diagnostics.Metrics;
using Switchboard.Pipeline;

namespace Switchboard.Diagnostics;

/// <summary>The one activity source and meter of the gateway. Instruments are named <c>switchboard.&lt;feature&gt;.&lt;noun&gt;</c>.</summary>
public sealed class SwitchboardDiagnostics : IDisposable
{
    public const string SourceName = "Switchboard";
    public const string MeterName = "Switchboard";

    private readonly Meter _meter;

    public SwitchboardDiagnostics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName, typeof(SwitchboardDiagnostics).Assembly.GetName().Version?.ToString());
        ToolCalls = _meter.CreateCounter<long>("switchboard.tool.calls", unit: "{call}", description: "Tool calls, by plugin, tool, transport and outcome.");
        ToolCallDuration = _meter.CreateHistogram<double>(
            "switchboard.tool.call.duration",
            unit: "s",
            description: "Time from a tool call entering the pipeline to its result.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        ToolLists = _meter.CreateCounter<long>("switchboard.tool.lists", unit: "{request}", description: "tools/list requests, by transport and outcome.");
        OverrunningToolCalls = _meter.CreateUpDownCounter<long>(
            "switchboard.tool.calls.overrunning",
            unit: "{call}",
            description: "Tool calls still running after their caller got an answer (a timeout or cancellation the tool did not observe), by plugin and tool.");
        HeapCompactions = _meter.CreateCounter<long>("switchboard.runtime.heap_compactions", unit: "{collection}", description: "Aggressive garbage collections run because the process went quiet (Switchboard:CompactHeapWhenIdle).");
    }

    /// <summary>Traces of pipeline work.</summary>
    public static ActivitySource ActivitySource { get; } = new(SourceName, typeof(SwitchboardDiagnostics).Assembly.GetName().Version?.ToString());

    public Counter<long> ToolCalls { get; }

    public Histogram<double> ToolCallDuration { get; }

    public Counter<long> ToolLists { get; }

    public UpDownCounter<long> OverrunningToolCalls { get; }

    public Counter<long> HeapCompactions { get; }

    public void Dispose() => _meter.Dispose();
}
