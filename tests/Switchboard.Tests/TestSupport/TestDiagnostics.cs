using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Diagnostics;
using Switchboard.Plugins;

namespace Switchboard.Tests.TestSupport;

/// <summary>The gateway's diagnostics for unit tests that build pipeline pieces without a host.</summary>
public static class TestDiagnostics
{
    public static SwitchboardDiagnostics Create() => new(new PlainMeterFactory());

    public static OverrunningToolCalls Overruns(TimeProvider time) => new(Create(), time, NullLogger<OverrunningToolCalls>.Instance);

    private sealed class PlainMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
