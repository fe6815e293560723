using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Plugins.Upstreams;

public static class UpstreamPluginExtensions
{
    /// <summary>
    /// Adds the upstream MCP servers listed under <c>Switchboard:Upstreams</c> as plugins: each is supervised (lazy or
    /// eager start, restart with back-off, idle stop), isolated (timeout, concurrency limit, circuit breaker) and served
    /// under its own plugin name beside the in-process plugins. See docs/upstreams.md.
    /// </summary>
    public static ISwitchboardBuilder AddUpstreamPlugins(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<UpstreamsOptions>()
            .Configure<IConfiguration>(static (options, configuration) =>
            {
                try
                {
                    configuration.GetSection(SwitchboardOptions.SectionName).Bind(options);
                }
                catch (InvalidOperationException ex)
                {
                    // Reported by the validator, beside every other problem, rather than as a bare exception.
                    options.BindingError = ex.Message;
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UpstreamsOptions>, UpstreamOptionsValidator>());
        services.TryAddSingleton<UpstreamToolCache>();
        services.TryAddSingleton<UpstreamRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<UpstreamRegistry>());
        services.AddHostedService<UpstreamCatalogRefresher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPluginSource, UpstreamPluginSource>());
        return builder;
    }
}
