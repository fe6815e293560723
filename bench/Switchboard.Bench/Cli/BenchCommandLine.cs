using System.CommandLine;

namespace Switchboard.Bench.Cli;

/// <summary>The <c>switchboard-bench</c> command and its subcommands.</summary>
internal static class BenchCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("switchboard-bench: load tests, cold start and idle-connection runs for Switchboard and its peers.");
        root.Subcommands.Add(LoadCommand.Create());
        root.Subcommands.Add(SuiteCommand.Create());
        root.Subcommands.Add(HeapCommand.Create());
        return root;
    }

    public static Task<int> RunAsync(string[] args) => Create().Parse(args).InvokeAsync();
}
