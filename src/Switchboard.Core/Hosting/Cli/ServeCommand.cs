using System.CommandLine;

namespace Switchboard.Hosting.Cli;

/// <summary><c>switchboard serve</c>: runs the server until SIGTERM or Ctrl+C, then shuts down gracefully.</summary>
internal static class ServeCommand
{
    public static Command Create(Action<ISwitchboardBuilder>? configure)
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on, separated by ';' (default http://127.0.0.1:8080). Loopback only until authentication is configured." };
        var data = new Option<string?>("--data") { Description = "Data folder holding the SQLite database (default ./data; created on first run)." };
        var config = new Option<string?>("--config") { Description = "JSON configuration file. Every option can also be set with environment variables such as Switchboard__Tools__DefaultTimeout." };
        var noAuth = new Option<bool>("--no-auth") { Description = "Serve without authentication (local development, conformance runs). Refused unless every listen address is loopback." };
        var fixtures = new Option<bool>("--conformance-fixtures") { Description = "Also serve the MCP conformance-suite fixture tools, resources and prompts (testing only)." };

        var command = new Command("serve", "Run the MCP server (Streamable HTTP at /mcp) with the configured plugins.") { urls, data, config, noAuth, fixtures };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = new ServeSettings
            {
                Urls = parseResult.GetValue(urls),
                DataDirectory = parseResult.GetValue(data),
                ConfigFile = parseResult.GetValue(config),
                ConformanceFixtures = parseResult.GetValue(fixtures),
                NoAuthentication = parseResult.GetValue(noAuth),
                OwnsProcess = true,
            };

            return await RunAsync(settings, configure, cancellationToken);
        });
        return command;
    }

    internal static Task<int> RunAsync(ServeSettings settings, Action<ISwitchboardBuilder>? configure, CancellationToken cancellationToken)
        => HostRunner.RunAsync(() => SwitchboardServer.Build(settings, configure));
}
