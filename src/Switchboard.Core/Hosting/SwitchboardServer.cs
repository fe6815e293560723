using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Plugins.Conformance;
using Switchboard.Plugins.Upstreams;
using Switchboard.Transports.Rest;
using Switchboard.Transports.WebSockets;

namespace Switchboard.Hosting;

/// <summary>Builds the web application that <c>switchboard serve</c> runs. Tests and embedding hosts use it too.</summary>
public static class SwitchboardServer
{
    /// <summary>
    /// Builds the server. Configuration sources, later winning: the JSON file given with <c>--config</c>, environment
    /// variables (<c>Switchboard__Section__Key</c>), command-line flags, then <see cref="ServeSettings.ConfigurationOverrides"/>.
    /// </summary>
    public static WebApplication Build(ServeSettings settings, Action<ISwitchboardBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // The host's default appsettings sources (cleared below) are otherwise loaded first with reloadOnChange, which
        // puts a recursive file watcher on the working folder: started from a home folder or a repository, that walked
        // every subfolder before readiness and held one inotify watch per folder for the life of the process.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Switchboard",
            ContentRootPath = Directory.GetCurrentDirectory(),
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });

        ConfigureConfiguration(builder.Configuration, settings);
        var bound = new SwitchboardOptions();
        builder.Configuration.GetSection(SwitchboardOptions.SectionName).Bind(bound);
        var security = new Security.SecurityOptions();
        builder.Configuration.GetSection(Security.SecurityOptions.SectionName).Bind(security);
        var urls = ListenAddressPolicy.Parse(bound.Urls, security.RequireAuthentication);
        builder.WebHost.UseUrls([.. urls]);

        ConfigureLogging(builder.Logging, builder.Configuration);

        var switchboard = builder.Services.AddSwitchboard(builder.Configuration)
            .AddStreamableHttpTransport()
            .AddWebSocketTransport()
            .AddRestTransport();
        AddPlugins(switchboard, settings, configure);
        builder.Services.AddSingleton<StartupBanner>(sp => ActivatorUtilities.CreateInstance<StartupBanner>(sp, settings, settings.BannerWriter ?? Console.Out));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StartupBanner>());

        var app = builder.Build();
        app.MapSwitchboard();
        return app;
    }

    /// <summary>
    /// Adds the plugins every command serves (upstream MCP servers, the samples, and the conformance fixtures when asked
    /// for), then the embedding host's own additions, so <c>serve</c> and <c>stdio</c> offer the same tools.
    /// </summary>
    internal static void AddPlugins(ISwitchboardBuilder switchboard, ServeSettings settings, Action<ISwitchboardBuilder>? configure)
    {
        switchboard.AddUpstreamPlugins().AddSamplePlugins();
        if (settings.ConformanceFixtures)
        {
            switchboard.AddConformanceFixtures();
        }

        configure?.Invoke(switchboard);
    }

    internal static void ConfigureConfiguration(IConfigurationManager configuration, ServeSettings settings)
    {
        configuration.Sources.Clear();
        if (settings.OwnsProcess)
        {
            // Defaults of the executable, before every other source so that configuration can turn them off.
            configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{SwitchboardOptions.SectionName}:{nameof(SwitchboardOptions.CompactHeapWhenIdle)}"] = "true",
            });
        }

        if (settings.ConfigFile is { } file)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                throw new SwitchboardStartupException($"Configuration file '{path}' was not found.");
            }

            // Reloaded on change for the settings that follow it live (the authorization policy); the rest is read once.
            configuration.AddJsonFile(path, optional: false, reloadOnChange: true);
        }

        configuration.AddEnvironmentVariables();
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (settings.Urls is not null)
        {
            flags[$"{SwitchboardOptions.SectionName}:{nameof(SwitchboardOptions.Urls)}"] = settings.Urls;
        }

        if (settings.DataDirectory is not null)
        {
            flags[$"{SwitchboardOptions.SectionName}:{nameof(SwitchboardOptions.DataDirectory)}"] = settings.DataDirectory;
        }

        if (settings.NoAuthentication)
        {
            flags[$"{Security.SecurityOptions.SectionName}:{nameof(Security.SecurityOptions.RequireAuthentication)}"] = "false";
        }

        configuration.AddInMemoryCollection(flags);
        if (settings.ConfigurationOverrides is { Count: > 0 } overrides)
        {
            configuration.AddInMemoryCollection(overrides);
        }
    }

    internal static void ConfigureLogging(ILoggingBuilder logging, IConfiguration configuration, bool toStandardError = false)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // The SDK logs every refused request (unknown method, bad params) as a warning with a stack trace; a client could
        // flood the log that way. Its genuine failures are errors.
        logging.AddFilter("ModelContextProtocol", LogLevel.Error);

        // The SDK server logs every JSON-RPC error a tools/call handler returns (unknown tool, refused call) as an
        // "unhandled exception" with the caller's tool name. Switchboard's handlers catch real failures themselves
        // and count refusals in metrics, so those entries are noise a client could use to flood the log.
        logging.AddFilter("ModelContextProtocol.Server.McpServer", LogLevel.Critical);
        logging.AddConfiguration(configuration.GetSection("Logging"));
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });
        if (toStandardError)
        {
            logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }
    }
}
