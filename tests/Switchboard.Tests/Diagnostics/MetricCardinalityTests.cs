using System.Diagnostics.Metrics;
using Switchboard.Diagnostics;

namespace Switchboard.Tests.Diagnostics;

public sealed class MetricCardinalityTests
{
    [Theory]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", "kestrel.active_connections", 100)]
    [InlineData("Microsoft.AspNetCore.Hosting", "http.server.request.duration", 500)]
    [InlineData("Switchboard", "switchboard.tool.lists", 100)]
    [InlineData("Switchboard", "switchboard.runtime.heap_compactions", 10)]
    public void FrameworkAndBoundedInstruments_GetSmallerLimits(string meter, string instrument, int expected)
    {
        using var owner = new Meter(meter);
        Assert.Equal(expected, MetricCardinality.LimitOf(owner.CreateCounter<long>(instrument)));
    }

    /// <summary>A tool attribute grows with the catalog: these keep OpenTelemetry's default of 2,000.</summary>
    [Theory]
    [InlineData("Switchboard", "switchboard.tool.calls")]
    [InlineData("Switchboard", "switchboard.tool.call.duration")]
    [InlineData("Switchboard", "switchboard.tool.calls.overrunning")]
    [InlineData("Some.Other.Meter", "anything")]
    public void InstrumentsWhoseAttributesGrowWithTheCatalog_KeepTheDefault(string meter, string instrument)
    {
        using var owner = new Meter(meter);
        Assert.Null(MetricCardinality.LimitOf(owner.CreateCounter<long>(instrument)));
    }
}
