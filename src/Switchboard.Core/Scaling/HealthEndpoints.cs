using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Serialization;

namespace Switchboard.Scaling;

/// <summary>The report served by <c>/healthz</c> and <c>/readyz</c>.</summary>
internal sealed record HealthReport(string Status, Dictionary<string, string>? Components = null, bool? Warm = null, Dictionary<string, string>? Warmup = null);

internal static class HealthEndpoints
{
    public const string LivenessPath = "/healthz";
    public const string ReadinessPath = "/readyz";

    public static void MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // The process is alive as long as it can answer.
        endpoints.MapGet(LivenessPath, static context => WriteAsync(context, new HealthReport("alive"), StatusCodes.Status200OK));

        // Ready only when storage is open and plugins are loaded; "warm" once background warm-up has finished too.
        endpoints.MapGet(ReadinessPath, static context =>
        {
            var readiness = context.RequestServices.GetRequiredService<ReadinessState>().Snapshot();
            var components = readiness.Components.ToDictionary(c => c.Key, c => c.Value.ToString().ToLowerInvariant(), StringComparer.Ordinal);
            var warmup = readiness.Warmups.ToDictionary(c => c.Key, c => c.Value == ComponentState.Ready ? "done" : c.Value.ToString().ToLowerInvariant(), StringComparer.Ordinal);
            return WriteAsync(
                context,
                new HealthReport(readiness.IsReady ? "ready" : readiness.IsStopping ? "stopping" : "not_ready", components, readiness.IsWarm, warmup),
                readiness.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }

    private static Task WriteAsync(HttpContext context, HealthReport report, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, report, SwitchboardJsonContext.Default.HealthReport, context.RequestAborted);
    }
}
