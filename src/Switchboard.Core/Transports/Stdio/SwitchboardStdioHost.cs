using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.Hosting;

namespace Switchboard.Transports.Stdio;

/// <summary>
/// Builds the host that <c>switchboard stdio</c> runs: the gateway core, the same configuration sources and plugins as
/// <c>switchboard serve</c>, and MCP on standard input and output instead of HTTP. No web server, no start-up banner;
/// every log line goes to standard error, because standard output belongs to the MCP messages.
/// </summary>
public static class SwitchboardStdioHost
{
    /// <summary>
    /// Builds the host, with the configuration sources and plugins of <see cref="SwitchboardServer.Build"/>.
    /// <see cref="ServeSettings.Urls"/> and <see cref="ServeSettings.BannerWriter"/> do not apply: nothing listens and
    /// nothing is printed.
    /// </summary>
    public static IHost Build(ServeSettings settings, Action<ISwitchboardBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(settings);

        // No defaults: they would add configuration sources and a console logger on standard output only to have them
        // thrown away, and would watch the working folder for appsettings files; a desktop client may start us in /.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "Switchboard",
            ContentRootPath = Directory.GetCurrentDirectory(),
            DisableDefaults = true,
        });

        SwitchboardServer.ConfigureConfiguration(builder.Configuration, settings);
        SwitchboardServer.ConfigureLogging(builder.Logging, builder.Configuration, toStandardError: true);

        // "Application started. Press Ctrl+C to shut down." means nothing to a client that owns our standard input.
        builder.Services.Configure<ConsoleLifetimeOptions>(lifetime => lifetime.SuppressStatusMessages = true);

        var switchboard = builder.Services.AddSwitchboard(builder.Configuration);
        SwitchboardServer.AddPlugins(switchboard, settings, configure);

        // Last: the session starts reading standard input only once everything registered before it (storage, the
        // plugin catalog, whatever plugins and the embedding host added) has started.
        switchboard.AddStdioTransport();
        return builder.Build();
    }
}
