using Microsoft.AspNetCore.Builder;
using Switchboard.Hosting;

namespace Switchboard.Transports.Rest;

public static class RestTransportExtensions
{
    /// <summary>Adds the REST transport (<c>/v1</c>) for callers that do not speak MCP.</summary>
    public static ISwitchboardBuilder AddRestTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }

    /// <summary>Maps the REST endpoints, the OpenAPI document and its reference UI.</summary>
    public static WebApplication MapRestTransport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app;
    }
}
