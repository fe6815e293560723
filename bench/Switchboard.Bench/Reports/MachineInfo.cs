using System.Diagnostics;
using System.Runtime.InteropServices;
using Switchboard.Bench.Processes;

namespace Switchboard.Bench.Reports;

/// <summary>What the numbers were measured on, printed at the top of every results file.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Memory, string Kernel, string Os, string DotNet, string Node, string? LoadAverage)
{
    public static MachineInfo Read(string? nodePath)
    {
        var cpu = ReadFirst("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKiB = ReadFirst("/proc/meminfo", "MemTotal");
        var memory = memKiB is not null && long.TryParse(memKiB.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], out var kib)
            ? $"{kib / 1024.0 / 1024.0:0.0} GiB"
            : "unknown";
        var kernel = TryRead("/proc/sys/kernel/osrelease")?.Trim() ?? RuntimeInformation.OSDescription;
        var os = TryRead("/etc/os-release")?.Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"') ?? RuntimeInformation.OSDescription;
        var sdk = Run("dotnet", "--version");
        var dotnet = $"{RuntimeInformation.FrameworkDescription} (SDK {sdk ?? "unknown"})";
        var node = nodePath is not null && File.Exists(nodePath) ? Run(nodePath, "--version") ?? "unknown" : "not installed";
        return new MachineInfo(cpu, Environment.ProcessorCount, memory, kernel, os, dotnet, node, MachineLoad.ReadLoadAverage());
    }

    public string ToMarkdown() =>
        $"""
        | machine | |
        |---|---|
        | CPU | {Cpu}, {Cores} cores |
        | memory | {Memory} |
        | OS / kernel | {Os} / Linux {Kernel} |
        | .NET | {DotNet} |
        | Node | {Node} |
        | load average at start (1/5/15 min) | {LoadAverage ?? "n/a"} |
        """;

    private static string? ReadFirst(string file, string key)
    {
        var text = TryRead(file);
        var line = text?.Split('\n').FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? null : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    private static string? TryRead(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return output.Length == 0 ? null : output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
