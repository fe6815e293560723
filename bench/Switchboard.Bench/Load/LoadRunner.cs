using System.Diagnostics;
using System.Net;
using Switchboard.Bench.Processes;

namespace Switchboard.Bench.Load;

/// <summary>
/// Runs one load test: opens the connections (and sessions), runs the warm-up and the measured window, samples the
/// server process during the window, and summarises what the workers saw.
/// </summary>
internal static class LoadRunner
{
    public static async Task<LoadResult> RunAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Connections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InFlight, 1);
        var template = RequestTemplate.Create(options.Transport, options.Target, options.McpPath, options.WebSocketPath);
        var loadBefore = MachineLoad.ReadLoadAverage();
        var endPoint = await ResolveAsync(options.BaseUri, cancellationToken);

        // Open every connection before the clock starts; a connection that cannot be opened is counted and retried by HTTP workers.
        var http = new List<HttpWorker>();
        var ws = new List<WebSocketWorker>();
        var connectFailures = 0L;
        var connects = new List<Task>();
        using var connectGate = new SemaphoreSlim(64);
        for (var i = 0; i < options.Connections; i++)
        {
            Task connect;
            if (options.Transport.IsWebSocket())
            {
                var worker = new WebSocketWorker(options, template);
                ws.Add(worker);
                connect = GatedAsync(connectGate, () => worker.ConnectAsync(cancellationToken));
            }
            else
            {
                var worker = new HttpWorker(options, template, endPoint);
                http.Add(worker);
                connect = GatedAsync(connectGate, () => worker.ConnectAsync(cancellationToken));
            }

            connects.Add(connect.ContinueWith(
                t =>
                {
                    if (t.IsFaulted)
                    {
                        Interlocked.Increment(ref connectFailures);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default));
        }

        await Task.WhenAll(connects);

        var start = Stopwatch.GetTimestamp();
        var windowStart = start + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
        var stats = new List<WorkerStats>();
        var runs = new List<Task>();
        foreach (var worker in http)
        {
            var s = new WorkerStats(windowStart, windowEnd);
            stats.Add(s);
            runs.Add(Task.Run(() => worker.RunAsync(s, cancellationToken), CancellationToken.None));
        }

        var openWs = ws.Where(w => w.State == System.Net.WebSockets.WebSocketState.Open).ToList();
        foreach (var worker in openWs)
        {
            var s = new WorkerStats(windowStart, windowEnd);
            stats.Add(s);
            runs.Add(Task.Run(() => worker.RunAsync(s, cancellationToken), CancellationToken.None));
        }

        using var expiry = openWs.Count > 0 ? new Timer(_ => ExpireAll(openWs), null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100)) : null;

        // Sample the server and this process during the measured window only.
        await Task.Delay(options.Warmup, cancellationToken);
        var sampler = options.ServerPid is { } pid ? ProcessSampler.Start(pid) : null;
        var clientCpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clientStart = Stopwatch.GetTimestamp();
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), windowEnd);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, cancellationToken);
        }

        var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuStart).TotalSeconds / Stopwatch.GetElapsedTime(clientStart).TotalSeconds * 100;
        (double Cpu, double Rss)? server = null;
        if (sampler is not null)
        {
            server = await sampler.StopAsync();
            await sampler.DisposeAsync();
        }

        await Task.WhenAll(runs);
        foreach (var worker in http)
        {
            worker.Dispose();
        }

        foreach (var worker in ws)
        {
            worker.Dispose();
        }

        return Summarize(options, stats, connectFailures, server, clientCpu, loadBefore, MachineLoad.ReadLoadAverage());
    }

    internal static LoadResult Summarize(
        LoadOptions options,
        IReadOnlyList<WorkerStats> stats,
        long connectFailures,
        (double Cpu, double Rss)? server,
        double? clientCpu,
        string? loadBefore,
        string? loadAfter)
    {
        var counts = new long[Enum.GetValues<CallCheck>().Length];
        var warmupErrors = connectFailures;
        var total = 0;
        foreach (var s in stats)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] += s.Counts[i];
            }

            warmupErrors += s.WarmupErrors;
            total += s.LatencyCount;
        }

        var samples = new double[total];
        var offset = 0;
        var toMs = 1000.0 / Stopwatch.Frequency;
        foreach (var s in stats)
        {
            foreach (var ticks in s.Latencies)
            {
                samples[offset++] = ticks * toMs;
            }
        }

        var kinds = new Dictionary<string, long>(StringComparer.Ordinal);
        long errors = 0;
        foreach (var check in Enum.GetValues<CallCheck>())
        {
            if (check != CallCheck.Ok && counts[(int)check] > 0)
            {
                kinds[check.ToName()] = counts[(int)check];
                errors += counts[(int)check];
            }
        }

        var ok = counts[(int)CallCheck.Ok];
        var seconds = options.Duration.TotalSeconds;
        return new LoadResult
        {
            Transport = options.Transport.ToName(),
            TransportDescription = options.Transport.Describe(),
            Connections = options.Connections,
            InFlight = options.Transport.IsWebSocket() ? options.InFlight : 1,
            Seconds = seconds,
            Ok = ok,
            Errors = errors,
            ErrorKinds = kinds,
            WarmupErrors = warmupErrors,
            Throughput = seconds > 0 ? ok / seconds : 0,
            Latency = Percentiles.Summarize(samples),
            CpuPercent = server?.Cpu,
            PeakRssMiB = server?.Rss,
            ClientCpuPercent = clientCpu,
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = loadAfter,
        };
    }

    private static void ExpireAll(List<WebSocketWorker> workers)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var worker in workers)
        {
            worker.ExpireOverdue(now);
        }
    }

    private static async Task GatedAsync(SemaphoreSlim gate, Func<Task> action)
    {
        await gate.WaitAsync();
        try
        {
            await action();
        }
        finally
        {
            gate.Release();
        }
    }

    internal static async Task<EndPoint> ResolveAsync(Uri baseUri, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(baseUri.IdnHost, out var address))
        {
            return new IPEndPoint(address, baseUri.Port);
        }

        var addresses = await Dns.GetHostAddressesAsync(baseUri.IdnHost, cancellationToken);
        return new IPEndPoint(addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses[0], baseUri.Port);
    }
}
