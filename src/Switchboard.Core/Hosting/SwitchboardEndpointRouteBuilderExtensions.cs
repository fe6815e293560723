using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Scaling;
using Switchboard.Transports.Http;
using Switchboard.Transports.Rest;
using Switchboard.Transports.WebSockets;

namespace Switchboard.Hosting;

public static class SwitchboardEndpointRouteBuilderExtensions
{
    /// <summary>The path of the MCP Streamable HTTP endpoint.</summary>
    public const string McpPath = "/mcp";

    /// <summary>The path of the Prometheus scrape endpoint.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Adds the HTTP guards (Host, Origin, body size) and maps every Switchboard endpoint: MCP at <c>/mcp</c>, health
    /// probes at <c>/healthz</c> and <c>/readyz</c>, and Prometheus metrics at <c>/metrics</c>.
    /// </summary>
    public static WebApplication MapSwitchboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<EndpointAllowlist>() is null)
        {
            throw new InvalidOperationException("Call services.AddSwitchboard(configuration).AddStreamableHttpTransport() before app.MapSwitchboard().");
        }

        app.UseMiddleware<HttpGuardMiddleware>();
        app.MapHealthEndpoints();
        app.MapMcp(McpPath);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapWebSocketTransport();
        app.MapRestTransport();
        return app;
    }
}
