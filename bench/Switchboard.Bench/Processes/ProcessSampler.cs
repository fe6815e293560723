using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Bench.Processes;

/// <summary>
/// Samples a process from <c>/proc</c>: CPU time (user + system) and resident memory (<c>VmRSS</c>), every
/// <see cref="Interval"/> while a window is open, keeping the peak.
/// </summary>
internal sealed class ProcessSampler : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TimeSpan _startCpu;
    private readonly long _startTimestamp;
    private long _peakRssKiB;

    private ProcessSampler(int pid)
    {
        _pid = pid;
        _startCpu = ReadCpuTime(pid);
        _startTimestamp = Stopwatch.GetTimestamp();
        _peakRssKiB = ReadStatusKiB(pid, "VmRSS:") ?? 0;
        _loop = SampleAsync(_stop.Token);
    }

    /// <summary>Starts sampling <paramref name="pid"/> now.</summary>
    public static ProcessSampler Start(int pid) => new(pid);

    /// <summary>Stops sampling; returns CPU percent of one core over the window and the peak RSS in MiB.</summary>
    public async Task<(double CpuPercent, double PeakRssMiB)> StopAsync()
    {
        var cpu = ReadCpuTime(_pid);
        var elapsed = Stopwatch.GetElapsedTime(_startTimestamp);
        await _stop.CancelAsync();
        await _loop;
        Observe();
        var percent = elapsed > TimeSpan.Zero ? (cpu - _startCpu).TotalSeconds / elapsed.TotalSeconds * 100 : 0;
        return (percent, _peakRssKiB / 1024.0);
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Observe();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Observe()
    {
        if (ReadStatusKiB(_pid, "VmRSS:") is { } rss && rss > _peakRssKiB)
        {
            _peakRssKiB = rss;
        }
    }

    /// <summary>User + system CPU time of a process, from <c>/proc/PID/stat</c>.</summary>
    public static TimeSpan ReadCpuTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>A <c>kB</c> field of <c>/proc/PID/status</c> (<c>VmRSS:</c>, <c>VmHWM:</c>); null when the process is gone.</summary>
    public static long? ReadStatusKiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var digits = line.AsSpan(field.Length).Trim();
                    var space = digits.IndexOf(' ');
                    return long.Parse(space < 0 ? digits : digits[..space], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>The kernel's USER_HZ: 100 on every mainstream Linux build.</summary>
    private const int ClockTicksPerSecond = 100;

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
        }

        _stop.Dispose();
    }
}
