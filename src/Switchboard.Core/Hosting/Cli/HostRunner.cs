using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Plugins;

namespace Switchboard.Hosting.Cli;

/// <summary>Runs a server host for a command: exit 0 after a clean shutdown, 2 with one clear message when it cannot start.</summary>
internal static class HostRunner
{
    public static async Task<int> RunAsync(Func<IHost> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            // RunAsync stops on SIGTERM or Ctrl+C (the host's own signal handling) and disposes the host.
            await build().RunAsync();
            return 0;
        }
        catch (Exception ex) when (DescribeStartupFailure(ex) is { } message)
        {
            await Console.Error.WriteLineAsync("switchboard: " + message);
            return SwitchboardCommandLine.UsageError;
        }
    }

    /// <summary>Runs an administrative command; a failure an operator can fix becomes one message and exit code 2.</summary>
    public static async Task<int> RunCommandAsync(Func<Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body();
        }
        catch (Exception ex) when (DescribeStartupFailure(ex) is { } message)
        {
            await Console.Error.WriteLineAsync("switchboard: " + message);
            return SwitchboardCommandLine.UsageError;
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync("switchboard: " + ex.Message);
            return SwitchboardCommandLine.UsageError;
        }
    }

    /// <summary>Turns the failures an operator can fix into one clear message; anything else stays an exception.</summary>
    internal static string? DescribeStartupFailure(Exception exception) => exception switch
    {
        SwitchboardStartupException startup => startup.Message,
        PluginConfigurationException plugins => plugins.Message,
        OptionsValidationException options => "invalid configuration:" + string.Concat(options.Failures.Select(f => Environment.NewLine + "  - " + f)),
        IOException io when io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) => io.Message,
        InvalidDataException data when data.Message.Contains("JSON", StringComparison.OrdinalIgnoreCase) => "the configuration file is not valid JSON: " + data.Message,
        InvalidOperationException binder when binder.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => "invalid configuration: " + binder.Message,
        UnauthorizedAccessException access => "permission denied: " + access.Message + " (choose a writable folder with --data)",
        AggregateException { InnerExceptions.Count: 1 } aggregate => DescribeStartupFailure(aggregate.InnerExceptions[0]),
        _ when exception.InnerException is not null => DescribeStartupFailure(exception.InnerException),
        _ => null,
    };
}
