using System.Diagnostics.Metrics;

namespace Switchboard.Diagnostics;

/// <summary>
/// How many attribute combinations each metric stream may hold. OpenTelemetry sets aside room for 2,000 per stream
/// (about 180 KB, allocated when the stream is created, and 15 streams are): right for our tool instruments, whose
/// plugin and tool attributes grow with the catalog, but far more than the framework's instruments can use, whose
/// attributes are bounded by this server's own listen endpoints, routes, methods and status codes. Past a limit nothing
/// is lost: the measurements are counted under OpenTelemetry's overflow attribute.
/// </summary>
internal static class MetricCardinality
{
    /// <summary>The limit for <paramref name="instrument"/>, or null for OpenTelemetry's default (2,000).</summary>
    public static int? LimitOf(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return instrument.Meter.Name switch
        {
            // Endpoint address and port, network and TLS protocol, error type.
            "Microsoft.AspNetCore.Server.Kestrel" => 100,

            // Route, method, status code, scheme, protocol, error type: a few dozen routes at most.
            "Microsoft.AspNetCore.Hosting" => 500,

            SwitchboardDiagnostics.MeterName => instrument.Name switch
            {
                // Transport × outcome.
                "switchboard.tool.lists" => 100,

                // No attributes.
                "switchboard.runtime.heap_compactions" => 10,
                _ => null,
            },
            _ => null,
        };
    }
}
