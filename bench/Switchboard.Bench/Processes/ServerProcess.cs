using System.Diagnostics;
using System.Net;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.Processes;

/// <summary>
/// One server the suite started: on a free loopback port, with a fresh data folder unless one is given, its output
/// kept in a log file. <see cref="DisposeAsync"/> stops it with SIGTERM (then SIGKILL after 10 s) and its sidecar.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ServerProcess? _sidecar;
    private readonly string? _ownedData;
    private readonly StreamWriter _log;

    private readonly Placeholders _values;
    private readonly PrepareStep? _pidOf;
    private readonly PrepareStep? _cleanup;
    private int? _serverPid;

    private ServerProcess(string name, Process process, int port, long startedTimestamp, ServerProcess? sidecar, string? ownedData, StreamWriter log, Placeholders values, TargetConfig target)
    {
        _values = values;
        _pidOf = target.PidOf;
        _cleanup = target.Cleanup;
        Name = name;
        _process = process;
        Port = port;
        StartedTimestamp = startedTimestamp;
        _sidecar = sidecar;
        _ownedData = ownedData;
        _log = log;
    }

    public string Name { get; }

    public int Port { get; }

    /// <summary>The server's process: the started one, or the one the target's <c>pidOf</c> named once it was ready.</summary>
    public int Pid => _serverPid ?? _process.Id;

    /// <summary>The <see cref="Stopwatch"/> timestamp taken just before the process was started.</summary>
    public long StartedTimestamp { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}");

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public bool HasExited => _process.HasExited;

    /// <summary>Expands placeholders with this server's values (<c>{port}</c>, <c>{data}</c>, captured <c>{token}</c>...).</summary>
    public string Expand(string value) => _values.Expand(value);

    /// <summary>Starts a target. The process is started and returned at once; call <see cref="WaitReadyAsync"/> next.</summary>
    public static async Task<ServerProcess> StartAsync(
        string name,
        SuiteConfig suite,
        Placeholders placeholders,
        string logDirectory,
        string? dataDirectory,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(placeholders);
        if (!suite.Targets.TryGetValue(name, out var target))
        {
            throw new InvalidOperationException($"The suite has no target '{name}'.");
        }

        ServerProcess? sidecar = null;
        var values = placeholders.Clone();
        if (target.Sidecar is { } sidecarName)
        {
            sidecar = await StartAsync(sidecarName, suite, placeholders, logDirectory, null, cancellationToken);
            await sidecar.WaitReadyAsync(suite.Targets[sidecarName].Ready, TimeSpan.FromSeconds(30), cancellationToken);
            values.Set("sink", sidecar.Port);
        }

        var port = Probe.FreePort();
        string? ownedData = null;
        if (dataDirectory is null)
        {
            ownedData = dataDirectory = Path.Combine(Path.GetTempPath(), "switchboard-bench", name + "-" + Guid.NewGuid().ToString("n")[..8]);
        }

        Directory.CreateDirectory(dataDirectory);
        values.Set("port", port).Set("data", dataDirectory);
        foreach (var step in target.Prepare)
        {
            await PrepareAsync(step, values, dataDirectory, cancellationToken);
        }

        var start = new ProcessStartInfo(values.Expand(target.Command))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = dataDirectory,
        };
        foreach (var argument in target.Args)
        {
            start.ArgumentList.Add(values.Expand(argument));
        }

        foreach (var (key, value) in target.Env)
        {
            start.Environment[key] = values.Expand(value);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        Directory.CreateDirectory(logDirectory);
        var log = new StreamWriter(Path.Combine(logDirectory, name + ".log"), append: true) { AutoFlush = true };
        var startedTimestamp = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(name, process, port, startedTimestamp, sidecar, ownedData, log, values, target);
    }

    private static async Task<string> PrepareAsync(PrepareStep step, Placeholders values, string workingDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(values.Expand(step.Command))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in step.Args)
        {
            start.ArgumentList.Add(values.Expand(argument));
        }

        foreach (var (key, value) in step.Env)
        {
            start.Environment[key] = values.Expand(value);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Prepare step '{start.FileName} {string.Join(' ', start.ArgumentList)}' failed ({process.ExitCode}): {(await error).Trim()}");
        }

        var last = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (step.Capture is { } capture)
        {
            values.Set(capture, last ?? throw new InvalidOperationException($"Prepare step '{start.FileName}' printed nothing to capture as {{{capture}}}."));
        }

        return last ?? string.Empty;
    }

    /// <summary>Polls the readiness probe every 2 ms; returns the time from process start to the first ready answer.</summary>
    public async Task<TimeSpan> WaitReadyAsync(string ready, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready (see its log).");
            }

            if (await Probe.IsReadyAsync(EndPoint, ready, cancellationToken))
            {
                return Stopwatch.GetElapsedTime(StartedTimestamp);
            }

            await Task.Delay(2, cancellationToken);
        }

        throw new TimeoutException($"{Name} was not ready within {limit.TotalSeconds:0} s.");
    }

    /// <summary>
    /// Runs the target's <c>pidOf</c> command, if it has one, so that <see cref="Pid"/> names the server rather than the
    /// engine's client. Called outside every measured time (it starts a process of its own).
    /// </summary>
    public async Task ResolveServerPidAsync(CancellationToken cancellationToken)
    {
        if (_pidOf is null || _serverPid is not null)
        {
            return;
        }

        var printed = await PrepareAsync(_pidOf, _values, Environment.CurrentDirectory, cancellationToken);
        _serverPid = int.TryParse(printed, System.Globalization.CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : throw new InvalidOperationException($"{Name}: pidOf printed '{printed}', not a process id.");
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives after the server was stopped.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signals.Terminate(_process.Id);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        if (_cleanup is not null)
        {
            try
            {
                await PrepareAsync(_cleanup, _values, Environment.CurrentDirectory, CancellationToken.None);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Usually nothing was left to clean up (the engine removed the container itself).
            }
        }

        lock (_log)
        {
            _log.Dispose();
        }

        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        if (_ownedData is not null)
        {
            try
            {
                Directory.Delete(_ownedData, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
