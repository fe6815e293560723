using Switchboard.Bench.Processes;
using Switchboard.Bench.Suite;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Bench;

/// <summary>
/// The suite's server processes. When the started process is a container engine's client, memory and CPU must be read
/// from the server inside the container, which the target's <c>pidOf</c> command names.
/// </summary>
public sealed class ServerProcessTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PidOf_NamesTheServerProcess_InsteadOfTheProcessTheSuiteStarted()
    {
        using var root = new TemporaryDirectory();
        await using var server = await StartWrappedAsync(
            root,
            "while [ ! -s {data}/server.pid ]; do sleep 0.01; done; cat {data}/server.pid");

        Assert.Equal("sh", await CommandNameAsync(server.Pid));
        await server.ResolveServerPidAsync(Token);

        // `$!` is written when the child is forked, a moment before it becomes `sleep`.
        Assert.Equal("sleep", await CommandNameEventuallyAsync(server.Pid, "sleep"));
    }

    [Fact]
    public async Task PidOf_ThatPrintsNoProcessId_IsAnError_NotAWrongProcess()
    {
        using var root = new TemporaryDirectory();
        await using var server = await StartWrappedAsync(root, "echo 'no such container'");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.ResolveServerPidAsync(Token));
        Assert.Contains("no such container", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A stand-in for <c>podman run</c>: the started shell is not the "server"; the <c>sleep</c> it starts is, and writes
    /// its process id to <c>server.pid</c> in the data folder. <paramref name="pidOf"/> is the target's pidOf script.
    /// </summary>
    private static Task<ServerProcess> StartWrappedAsync(TemporaryDirectory root, string pidOf)
    {
        var suite = new SuiteConfig
        {
            Targets =
            {
                ["wrapped"] = new TargetConfig
                {
                    Command = "/bin/sh",
                    Args = ["-c", "sleep 60 & echo $! > server.pid; trap 'kill $!' TERM; wait"],
                    PidOf = new PrepareStep { Command = "/bin/sh", Args = ["-c", pidOf] },
                },
            },
        };
        return ServerProcess.StartAsync("wrapped", suite, new Placeholders(root.Path, root.Path, "text"), Path.Combine(root.Path, "logs"), null, Token);
    }

    private static async Task<string> CommandNameAsync(int pid)
        => (await File.ReadAllTextAsync($"/proc/{pid}/comm", Token)).Trim();

    private static async Task<string> CommandNameEventuallyAsync(int pid, string expected)
    {
        var name = await CommandNameAsync(pid);
        for (var i = 0; i < 500 && name != expected; i++)
        {
            await Task.Delay(10, Token);
            name = await CommandNameAsync(pid);
        }

        return name;
    }
}
