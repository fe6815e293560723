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

        Check(options.PerCaller, $"{CallLimitOptions.SectionName}:PerCaller", failures);
        foreach (var (caller, settings) in options.Callers)
        {
            Check(settings, $"{CallLimitOptions.SectionName}:Callers:{caller}", failures);
            var effective = settings.Over(options.PerCaller);
            if (effective.MaxQueuedCalls > 0 && !effective.LimitsConcurrency)
            {
                failures.Add($"{CallLimitOptions.SectionName}:Callers:{caller}:MaxQueuedCalls needs MaxConcurrentCalls: a queue without a bound has nothing to wait for.");
            }
        }

        if (options.PerCaller.MaxQueuedCalls > 0 && !options.PerCaller.LimitsConcurrency)
        {
            failures.Add($"{CallLimitOptions.SectionName}:PerCaller:MaxQueuedCalls needs MaxConcurrentCalls: a queue without a bound has nothing to wait for.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(CallerLimitSettings settings, string path, List<string> failures)
    {
        if (settings.RequestsPerSecond is { } rate && (double.IsNaN(rate) || rate < 0 || rate > 1_000_000))
        {
            failures.Add($"{path}:RequestsPerSecond must be between 0 (off) and 1000000.");
        }

        if (settings.Burst is < 1 or > 1_000_000)
        {
            failures.Add($"{path}:Burst must be between 1 and 1000000.");
        }

        if (settings.MaxConcurrentCalls is < 0 or > 100_000)
        {
            failures.Add($"{path}:MaxConcurrentCalls must be between 0 (off) and 100000.");
        }

        if (settings.MaxQueuedCalls is < 0 or > 100_000)
        {
            failures.Add($"{path}:MaxQueuedCalls must be between 0 and 100000.");
        }
    }
}
