using System.CommandLine;
using Switchboard.Transports.Stdio;

namespace Switchboard.Hosting.Cli;

/// <summary>
/// <c>switchboard stdio</c>: serves one MCP client on standard input and output until the client closes standard input
/// (or SIGTERM / Ctrl+C), then exits with code 0. Standard output carries only MCP messages; logs and start-up
/// failures go to standard error.
/// </summary>
internal static class StdioCommand
{
    public static Command Create(Action<ISwitchboardBuilder>? configure)
    {
        var data = new Option<string?>("--data") { Description = "Data folder holding the SQLite database (default ./data, relative to the working folder, which a desktop client may set anywhere: give an absolute path). Several stdio processes may share one." };
        var config = new Option<string?>("--config") { Description = "JSON configuration file, as for serve. Environment variables such as Switchboard__Tools__DefaultTimeout override it." };
        var fixtures = new Option<bool>("--conformance-fixtures") { Description = "Also serve the MCP conformance-suite fixture tools, resources and prompts (testing only)." };

        var command = new Command("stdio", "Serve MCP on standard input and output for a local client (Claude Desktop, Claude Code), with the configured plugins. Logs go to standard error.") { data, config, fixtures };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new ServeSettings { DataDirectory = parseResult.GetValue(data), ConfigFile = parseResult.GetValue(config), ConformanceFixtures = parseResult.GetValue(fixtures), OwnsProcess = true },
            configure,
            cancellationToken));
        return command;
    }

    internal static Task<int> RunAsync(ServeSettings settings, Action<ISwitchboardBuilder>? configure, CancellationToken cancellationToken)
        => HostRunner.RunAsync(() => SwitchboardStdioHost.Build(settings, configure));
}
