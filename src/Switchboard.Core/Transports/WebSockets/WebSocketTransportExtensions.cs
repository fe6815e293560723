using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Transports.WebSockets;

public static class WebSocketTransportExtensions
{
    /// <summary>The path of the WebSocket endpoint.</summary>
    public const string Path = "/ws";

    /// <summary>Adds the WebSocket transport (<c>/ws</c>, subprotocol <c>mcp</c>), configured from <c>Switchboard:WebSockets</c>.</summary>
    public static ISwitchboardBuilder AddWebSocketTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<WebSocketTransportOptions>().BindConfiguration(WebSocketTransportOptions.SectionName).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebSocketTransportOptions>, WebSocketTransportOptionsValidator>());
        builder.Services.TryAddSingleton<WebSocketConnectionHandler>();
        return builder;
    }

    /// <summary>Maps the WebSocket endpoint. Origin and Host are checked on the upgrade request like any other.</summary>
    public static WebApplication MapWebSocketTransport(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var handler = app.Services.GetService<WebSocketConnectionHandler>();
        if (handler is null)
        {
            return app;
        }

        var settings = app.Services.GetRequiredService<IOptions<WebSocketTransportOptions>>().Value;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = settings.KeepAliveInterval, KeepAliveTimeout = settings.KeepAliveTimeout });
        app.Map(Path, handler.HandleAsync);
        return app;
    }
}

internal sealed class WebSocketTransportOptionsValidator : IValidateOptions<WebSocketTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, WebSocketTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxMessageBytes is < 1024 or > 256 * 1024 * 1024)
        {
            failures.Add("Switchboard:WebSockets:MaxMessageBytes must be between 1024 and 268435456.");
        }

        if (options.MaxInFlightPerConnection is < 1 or > 10_000)
        {
            failures.Add("Switchboard:WebSockets:MaxInFlightPerConnection must be between 1 and 10000.");
        }

        if (options.MaxConnections < 1)
        {
            failures.Add("Switchboard:WebSockets:MaxConnections must be at least 1.");
        }

        if (options.KeepAliveInterval < TimeSpan.Zero || options.KeepAliveTimeout < TimeSpan.Zero)
        {
            failures.Add("Switchboard:WebSockets:KeepAliveInterval and KeepAliveTimeout must not be negative (zero turns them off).");
        }

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add("Switchboard:WebSockets:IdleTimeout must be positive.");
        }

        if (options.ServerLinger < TimeSpan.Zero)
        {
            failures.Add("Switchboard:WebSockets:ServerLinger must not be negative (zero lets a server go after every answer).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
