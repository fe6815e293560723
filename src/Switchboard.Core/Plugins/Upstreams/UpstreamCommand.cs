namespace Switchboard.Plugins.Upstreams;

/// <summary>Finds the program of a stdio upstream the way a shell would, so a missing program is a clear start-up error.</summary>
internal static class UpstreamCommand
{
    /// <summary>
    /// The full path of <paramref name="command"/>: a path with a directory is taken relative to the gateway's current
    /// directory; a bare name is looked up on the gateway's PATH. Null when no such file exists.
    /// </summary>
    public static string? Resolve(string command)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        if (Path.IsPathRooted(command) || command.Contains('/', StringComparison.Ordinal) || command.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(command);
            return File.Exists(full) ? full : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            if (OperatingSystem.IsWindows() && File.Exists(candidate + ".exe"))
            {
                return candidate + ".exe";
            }
        }

        return null;
    }
}
