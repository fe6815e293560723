using System.Runtime.InteropServices;

namespace Switchboard.Bench.Processes;

/// <summary>POSIX signals for the servers the suite starts: SIGTERM asks for a graceful shutdown.</summary>
internal static partial class Signals
{
    private const int SigTerm = 15;

    public static bool Terminate(int pid) => Kill(pid, SigTerm) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
