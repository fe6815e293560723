using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Scalar.AspNetCore;
using Switchboard.Hosting;

namespace Switchboard.Transports.Rest;

public static class RestTransportExtensions
{
    /// <summary>The path every REST endpoint lives under.</summary>
    public const string BasePath = "/v1";

    /// <summary>The tool list; calls are <c>POST {ToolsPath}/{name}/call</c>.</summary>
    public const string ToolsPath = BasePath + "/tools";

    /// <summary>The name of the OpenAPI document describing the REST API.</summary>
    public const string OpenApiDocumentName = "v1";

    /// <summary>Where the OpenAPI document is served.</summary>
    public const string OpenApiPath = "/openapi/" + OpenApiDocumentName + ".json";

    /// <summary>Where the API reference UI (Scalar) is served.</summary>
    public const string ReferenceUiPath = "/scalar/" + OpenApiDocumentName;

    /// <summary>Exposed tool names (Claude's tool-name rule); anything else in the path is an unknown tool.</summary>
    internal const string ToolNamePattern = "^[A-Za-z0-9_-]{1,64}$";

    /// <summary>Adds the REST transport (<c>/v1</c>) for callers that do not speak MCP, and its OpenAPI document.</summary>
    public static ISwitchboardBuilder AddRestTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(static d => d.ServiceType == typeof(RestToolEndpoints)))
        {
            // Already added: a second AddOpenApi for the same document would run every transformer twice.
            return builder;
        }

        builder.Services.AddSingleton<RestToolEndpoints>();
        builder.Services.AddOpenApi(OpenApiDocumentName, openApi =>
        {
            // The document describes the REST API only (other endpoints speak MCP, Prometheus or probes).
            openApi.ShouldInclude = static description => description.RelativePath?.StartsWith("v1/", StringComparison.OrdinalIgnoreCase) == true;
            openApi.AddDocumentTransformer<RestOpenApiDocumentTransformer>();
        });
        return builder;
    }

    /// <summary>
    /// Maps the REST endpoints, the OpenAPI document (<see cref="OpenApiPath"/>) and its reference UI
    /// (<see cref="ReferenceUiPath"/>). All of them pass the Host/Origin guard like every other endpoint.
    /// </summary>
    public static WebApplication MapRestTransport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var endpoints = app.Services.GetService<RestToolEndpoints>();
        if (endpoints is null)
        {
            return app;
        }

        app.MapGet(ToolsPath, (RequestDelegate)endpoints.ListAsync).WithDisplayName("REST: list tools");
        app.MapPost(ToolsPath + "/{name}/call", (RequestDelegate)endpoints.CallAsync).WithDisplayName("REST: call tool");

        // Lowest precedence: wrong paths and methods under /v1 get problem details too, not an empty 404/405.
        app.Map(BasePath + "/{**rest}", (RequestDelegate)RestToolEndpoints.FallbackAsync).WithDisplayName("REST: no such endpoint");

        app.MapOpenApi();
        app.MapScalarApiReference("/scalar", scalar => scalar
            .WithTitle("Switchboard REST API")
            .AddDocument(OpenApiDocumentName)
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            // Everything comes from this server: no telemetry, no web fonts from a CDN, no hosted AI chat or cloud
            // toolbar (they call Scalar's services and would fail offline anyway).
            .DisableTelemetry()
            .DisableDefaultFonts()
            .DisableAgent()
            .DisableMcp()
            .HideDeveloperTools());
        return app;
    }
}
