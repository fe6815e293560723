using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Switchboard.Plugins;

namespace Switchboard.Hosting.Cli;

/// <summary><c>switchboard serve</c>: runs the server until SIGTERM or Ctrl+C, then shuts down gracefully.</summary>
internal static class ServeCommand
{
    public static Command Create(Action<ISwitchboardBuilder>? configure)
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on, separated by ';' (default http://127.0.0.1:8080). Loopback only until authentication is configured." };
        var data = new Option<string?>("--data") { Description = "Data folder holding the SQLite database (default ./data; created on first run)." };
        var config = new Option<string?>("--config") { Description = "JSON configuration file. Every option can also be set with environment variables such as Switchboard__Tools__DefaultTimeout." };
        var fixtures = new Option<bool>("--conformance-fixtures") { Description = "Also serve the MCP conformance-suite fixture tools, resources and prompts (testing only)." };

        var command = new Command("serve", "Run the MCP server (Streamable HTTP at /mcp) with the configured plugins.") { urls, data, config, fixtures };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = new ServeSettings
            {
                Urls = parseResult.GetValue(urls),
                DataDirectory = parseResult.GetValue(data),
                ConfigFile = parseResult.GetValue(config),
                ConformanceFixtures = parseResult.GetValue(fixtures),
            };

            return await RunAsync(settings, configure, cancellationToken);
        });
        return command;
    }

    internal static async Task<int> RunAsync(ServeSettings settings, Action<ISwitchboardBuilder>? configure, CancellationToken cancellationToken)
    {
        try
        {
            await using var app = SwitchboardServer.Build(settings, configure);
            await app.RunAsync();
            return 0;
        }
        catch (Exception ex) when (DescribeStartupFailure(ex) is { } message)
        {
            await Console.Error.WriteLineAsync("switchboard: " + message);
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
        UnauthorizedAccessException access => "permission denied: " + access.Message + " (choose a writable folder with --data)",
        AggregateException { InnerExceptions.Count: 1 } aggregate => DescribeStartupFailure(aggregate.InnerExceptions[0]),
        _ when exception.InnerException is not null => DescribeStartupFailure(exception.InnerException),
        _ => null,
    };
}
