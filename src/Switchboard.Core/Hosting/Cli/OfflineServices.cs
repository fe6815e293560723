using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Security;
using Switchboard.Storage;

namespace Switchboard.Hosting.Cli;

/// <summary>
/// The services the administrative commands (keys, clients, token) need, built from the same configuration sources as
/// <c>serve</c> (<c>--config</c>, environment, <c>--data</c>) against the same data folder — so a token issued here is
/// signed by the ring a running server validates with. Nothing is started: no listener, no plugins.
/// </summary>
internal sealed class OfflineServices : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private OfflineServices(ServiceProvider services) => _services = services;

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public static async Task<OfflineServices> OpenAsync(string? dataDirectory, string? configFile, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationManager();
        SwitchboardServer.ConfigureConfiguration(configuration, new ServeSettings { DataDirectory = dataDirectory, ConfigFile = configFile });
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddSimpleConsole(console => console.SingleLine = true);
            logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
        services.AddOptions<SwitchboardOptions>().Bind(configuration.GetSection(SwitchboardOptions.SectionName));
        services.AddOptions<SecurityOptions>().Bind(configuration.GetSection(SecurityOptions.SectionName));
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        services.AddSingleton<IValidateOptions<SwitchboardOptions>, SwitchboardOptionsValidator>();
        services.AddSingleton<SqliteDatabase>();
        var recorded = new RecordedIdentity();
        services.AddSingleton(sp => new ResourceIdentity(
            sp.GetRequiredService<IOptions<SecurityOptions>>(),
            sp.GetRequiredService<IOptions<SwitchboardOptions>>(),
            recorded.Issuer is { } issuer && recorded.Resource is { } resource ? (issuer, resource) : null));
        SecurityServiceCollectionExtensions.AddKeyServices(services);
        Compliance.ComplianceServiceCollectionExtensions.AddComplianceCore(services);

        var provider = services.BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
            _ = provider.GetRequiredService<IOptions<SecurityOptions>>().Value;
            _ = provider.GetRequiredService<IOptions<Compliance.ComplianceOptions>>().Value;
            var database = provider.GetRequiredService<SqliteDatabase>();
            await database.InitializeAsync(cancellationToken);

            // The identity the server last started with (before anything resolves ResourceIdentity).
            recorded.Issuer = await database.GetMetaAsync(ResourceIdentity.IssuerMetaKey, cancellationToken);
            recorded.Resource = await database.GetMetaAsync(ResourceIdentity.ResourceMetaKey, cancellationToken);
            await provider.GetRequiredService<SigningKeyRing>().MaintainAsync(cancellationToken);
            return new OfflineServices(provider);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private sealed class RecordedIdentity
    {
        public string? Issuer { get; set; }

        public string? Resource { get; set; }
    }
}
