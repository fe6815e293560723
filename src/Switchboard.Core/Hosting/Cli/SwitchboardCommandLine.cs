using System.CommandLine;

namespace Switchboard.Hosting.Cli;

/// <summary>The <c>switchboard</c> command and its subcommands.</summary>
public static class SwitchboardCommandLine
{
    /// <summary>Exit code for a request the server refuses to carry out (bad flags, bad configuration).</summary>
    public const int UsageError = 2;

    public static RootCommand Create(Action<ISwitchboardBuilder>? configure = null)
    {
        var root = new RootCommand("Switchboard: an MCP gateway that puts your tools in front of Claude, safely and fast.");
        root.Subcommands.Add(ServeCommand.Create(configure));
        foreach (var command in SecurityCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        foreach (var command in ComplianceCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(StdioCommand.Create(configure));
        root.Subcommands.Add(HealthCommand.Create());
        return root;
    }

    /// <summary>Parses and runs the command line. Signals are handled by the host (graceful shutdown), not by the parser.</summary>
    public static Task<int> RunAsync(string[] args, Action<ISwitchboardBuilder>? configure = null)
        => Create(configure).Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
}
