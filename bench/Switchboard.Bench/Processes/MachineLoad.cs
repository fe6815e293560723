namespace Switchboard.Bench.Processes;

/// <summary>The machine's load average, to print beside every result: other work on the machine skews the numbers.</summary>
internal static class MachineLoad
{
    /// <summary>The 1, 5 and 15 minute load averages from <c>/proc/loadavg</c> ("0.52 0.61 0.70"); null off Linux.</summary>
    public static string? ReadLoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 3 ? $"{parts[0]} {parts[1]} {parts[2]}" : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
