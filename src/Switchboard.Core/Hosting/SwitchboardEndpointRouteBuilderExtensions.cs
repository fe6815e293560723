using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance.Audit;
using Switchboard.Scaling;
using Switchboard.Security;
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
    /// Adds the HTTP guards (Host, Origin, body size), authentication of the tool endpoints, and maps every Switchboard
    /// endpoint: MCP at <c>/mcp</c>, WebSocket at <c>/ws</c>, REST at <c>/v1</c>, health probes at <c>/healthz</c> and
    /// <c>/readyz</c>, Prometheus metrics at <c>/metrics</c>, and the OAuth discovery, JWKS and token endpoints.
    /// </summary>
    public static WebApplication MapSwitchboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<EndpointAllowlist>() is null)
        {
            throw new InvalidOperationException("Call services.AddSwitchboard(configuration).AddStreamableHttpTransport() before app.MapSwitchboard().");
        }

        app.UseMiddleware<HttpGuardMiddleware>();
        app.UseMiddleware<AuthenticationMiddleware>();
        app.UseMiddleware<McpScopeChallengeMiddleware>();
        app.MapHealthEndpoints();
        app.MapSecurityEndpoints();
        app.MapAuditEndpoints();
        app.MapMcp(McpPath);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapWebSocketTransport();
        app.MapRestTransport();
        return app;
    }
}
