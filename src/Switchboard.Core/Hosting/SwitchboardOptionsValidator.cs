using Microsoft.Extensions.Options;
using Switchboard.Plugins;

namespace Switchboard.Hosting;

/// <summary>Checks <see cref="SwitchboardOptions"/> at start; an invalid value stops the server with every problem listed.</summary>
internal sealed class SwitchboardOptionsValidator : IValidateOptions<SwitchboardOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("Switchboard:DataDirectory must name a folder.");
        }

        if (string.IsNullOrWhiteSpace(options.ServerName) || !ToolNaming.IsValidExposedName(options.ServerName) || options.ServerName.Length > 32)
        {
            failures.Add("Switchboard:ServerName must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'.");
        }

        if (options.Http.MaxRequestBodyBytes is < 1024 or > 1024L * 1024 * 1024)
        {
            failures.Add("Switchboard:Http:MaxRequestBodyBytes must be between 1024 and 1073741824.");
        }

        if (options.Http.ShutdownTimeout < TimeSpan.Zero || options.Http.ShutdownTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add("Switchboard:Http:ShutdownTimeout must be between 0 and 10 minutes.");
        }

        foreach (var origin in options.Http.AllowedOrigins)
        {
            if (origin.Trim() != "*" && !Transports.Http.EndpointAllowlist.TryNormalizeOrigin(origin.Trim(), out _))
            {
                failures.Add($"Switchboard:Http:AllowedOrigins entry '{origin}' is not an origin (scheme://host[:port]).");
            }
        }

        if (options.IdleCompactionQuietPeriod < TimeSpan.FromMilliseconds(100) || options.IdleCompactionQuietPeriod > TimeSpan.FromHours(1))
        {
            failures.Add("Switchboard:IdleCompactionQuietPeriod must be between 100 milliseconds and one hour.");
        }

        if (options.Tools.DefaultTimeout <= TimeSpan.Zero || options.Tools.DefaultTimeout > TimeSpan.FromHours(1))
        {
            failures.Add("Switchboard:Tools:DefaultTimeout must be positive and at most one hour.");
        }

        if (options.Tools.MaxNameLength is < 16 or > ToolNaming.AbsoluteMaxLength)
        {
            failures.Add($"Switchboard:Tools:MaxNameLength must be between 16 and {ToolNaming.AbsoluteMaxLength}.");
        }

        if (options.Tools.ListPageSize is < 1 or > 1000)
        {
            failures.Add("Switchboard:Tools:ListPageSize must be between 1 and 1000.");
        }

        if (options.Tools.MaxOverrunningCallsPerPlugin is < 1 or > 10_000)
        {
            failures.Add("Switchboard:Tools:MaxOverrunningCallsPerPlugin must be between 1 and 10000.");
        }

        foreach (var (plugin, settings) in options.Plugins)
        {
            if (settings.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromHours(1)))
            {
                failures.Add($"Switchboard:Plugins:{plugin}:Timeout must be positive and at most one hour.");
            }

            if (settings.MaxOverrunningCalls is < 1 or > 10_000)
            {
                failures.Add($"Switchboard:Plugins:{plugin}:MaxOverrunningCalls must be between 1 and 10000.");
            }

            Scaling.Limits.Bulkhead.CheckSettings($"Switchboard:Plugins:{plugin}", settings.MaxConcurrentCalls, settings.MaxQueuedCalls, settings.MaxConcurrentCalls > 0, failures);

            if (settings.Execution is { } execution && !Enum.IsDefined(execution))
            {
                failures.Add($"Switchboard:Plugins:{plugin}:Execution must be ThreadPool or Inline.");
            }

            foreach (var (tool, toolSettings) in settings.Tools)
            {
                if (toolSettings.Timeout is { } toolTimeout && (toolTimeout <= TimeSpan.Zero || toolTimeout > TimeSpan.FromHours(1)))
                {
                    failures.Add($"Switchboard:Plugins:{plugin}:Tools:{tool}:Timeout must be positive and at most one hour.");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
