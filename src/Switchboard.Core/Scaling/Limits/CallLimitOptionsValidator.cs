using Microsoft.Extensions.Options;

namespace Switchboard.Scaling.Limits;

/// <summary>Checks <see cref="CallLimitOptions"/> at start; an invalid value stops the server with every problem listed.</summary>
internal sealed class CallLimitOptionsValidator : IValidateOptions<CallLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, CallLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!Enum.IsDefined(options.PartitionBy))
        {
            failures.Add($"{CallLimitOptions.SectionName}:PartitionBy must be Subject, Client or Tenant.");
        }

        if (options.QueueTimeout <= TimeSpan.Zero || options.QueueTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{CallLimitOptions.SectionName}:QueueTimeout must be positive and at most 10 minutes.");
        }

        Check(options.PerCaller, options.PerCaller, $"{CallLimitOptions.SectionName}:PerCaller", failures);
        foreach (var (caller, settings) in options.Callers)
        {
            Check(settings, settings.Over(options.PerCaller), $"{CallLimitOptions.SectionName}:Callers:{caller}", failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Checks the values <paramref name="settings"/> sets; <paramref name="effective"/> is what applies (with what it inherits).</summary>
    private static void Check(CallerLimitSettings settings, CallerLimitSettings effective, string path, List<string> failures)
    {
        if (settings.RequestsPerSecond is { } rate && (double.IsNaN(rate) || rate < 0 || rate > 1_000_000))
        {
            failures.Add($"{path}:RequestsPerSecond must be between 0 (off) and 1000000.");
        }

        if (settings.Burst is < 1 or > 1_000_000)
        {
            failures.Add($"{path}:Burst must be between 1 and 1000000.");
        }

        Bulkhead.CheckSettings(path, settings.MaxConcurrentCalls, settings.MaxQueuedCalls, effective.LimitsConcurrency, failures);
    }
}
