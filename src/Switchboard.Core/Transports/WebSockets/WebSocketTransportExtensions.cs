using Microsoft.AspNetCore.Builder;
using Switchboard.Hosting;

namespace Switchboard.Transports.WebSockets;

public static class WebSocketTransportExtensions
{
    /// <summary>Adds the WebSocket transport (<c>/ws</c>, subprotocol <c>mcp</c>).</summary>
    public static ISwitchboardBuilder AddWebSocketTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }

    /// <summary>Maps the WebSocket endpoint.</summary>
    public static WebApplication MapWebSocketTransport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app;
    }
}
