using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Tests.TestSupport;

/// <summary>
/// The real <c>switchboard</c> executable running as a child process, exactly as a user starts it. The MCP URL is read
/// from the start-up banner (so port 0 works). Disposing sends SIGTERM and waits for a graceful exit.
/// </summary>
public sealed partial class SwitchboardProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _mcpUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TemporaryDirectory? _ownedData;
    private readonly List<OutputWaiter> _outputWaiters = [];
    private Uri? _servingUrl;

    private SwitchboardProcess(Process process, TemporaryDirectory? ownedData)
    {
        _process = process;
        _ownedData = ownedData;
    }

    /// <summary>The built executable (copied next to the test assembly by the project reference).</summary>
    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "switchboard");

    public Uri McpUri => _mcpUrl.Task.IsCompletedSuccessfully ? _mcpUrl.Task.Result : throw new InvalidOperationException("The server has not started.");

    public Uri BaseUri => new(McpUri, "/");

    public int Id => _process.Id;

    public string StandardOutput { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    /// <summary>Starts <c>switchboard</c> with the given arguments (for example <c>serve --urls … --data …</c>).</summary>
    public static SwitchboardProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, TemporaryDirectory? ownedData = null)
    {
        var startInfo = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var result = new SwitchboardProcess(process, ownedData);
        process.OutputDataReceived += (_, e) => result.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (result._stderr) { result._stderr.AppendLine(e.Data); } } };
        process.Exited += (_, _) => result._mcpUrl.TrySetException(new InvalidOperationException("switchboard exited before it was ready."));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Starts <c>switchboard serve</c> on a free loopback port with a fresh data folder, and waits until it serves.</summary>
    public static async Task<SwitchboardProcess> StartServeAsync(IEnumerable<string>? extraArguments = null, IReadOnlyDictionary<string, string?>? environment = null, bool authenticate = false, CancellationToken cancellationToken = default)
    {
        var data = new TemporaryDirectory();
        var arguments = new List<string> { "serve", "--urls", "http://127.0.0.1:0", "--data", data.Path };
        if (!authenticate)
        {
            arguments.Add("--no-auth");
        }

        arguments.AddRange(extraArguments ?? []);
        var process = Start(arguments, environment, ownedData: data);
        await process.WaitUntilServingAsync(cancellationToken);
        return process;
    }

    /// <summary>Waits until the banner has printed the MCP URL.</summary>
    public async Task<Uri> WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _mcpUrl.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            throw new InvalidOperationException($"switchboard did not start.{Environment.NewLine}stdout:{Environment.NewLine}{StandardOutput}{Environment.NewLine}stderr:{Environment.NewLine}{StandardError}", ex);
        }
    }

    /// <summary>Sends SIGTERM (what Kubernetes and systemd send) and waits for the process to end; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = NativeMethods.Kill(_process.Id, NativeMethods.SigTerm);
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException("switchboard did not stop after SIGTERM." + Environment.NewLine + StandardOutput + StandardError);
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Completes once standard output holds at least <paramref name="count"/> lines matching <paramref name="pattern"/>
    /// (signalled by the line arriving, not polled); fails with the output so far after <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForOutputAsync(Regex pattern, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var waiter = new OutputWaiter(pattern, count);
        lock (_stdout)
        {
            waiter.Seen = _stdout.ToString().Split('\n').Count(pattern.IsMatch);
            if (waiter.Seen >= count)
            {
                return;
            }

            _outputWaiters.Add(waiter);
        }

        try
        {
            await waiter.Done.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new InvalidOperationException($"{waiter.Seen} of {count} lines matching '{pattern}' in {timeout.TotalSeconds:0} s.{Environment.NewLine}stdout:{Environment.NewLine}{StandardOutput}{Environment.NewLine}stderr:{Environment.NewLine}{StandardError}", ex);
        }
        finally
        {
            lock (_stdout)
            {
                _outputWaiters.Remove(waiter);
            }
        }
    }

    /// <summary>Waits for the process to exit on its own (for start-up failures).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await TerminateAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            _process.Dispose();
            _ownedData?.Dispose();
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdout)
        {
            _stdout.AppendLine(line);
            foreach (var waiter in _outputWaiters)
            {
                if (waiter.Pattern.IsMatch(line) && ++waiter.Seen >= waiter.Count)
                {
                    waiter.Done.TrySetResult();
                }
            }
        }

        // The banner ends with the `claude mcp add` line: wait for it, so a test sees the whole banner.
        var match = ServingLine().Match(line);
        if (match.Success)
        {
            _servingUrl = new Uri(match.Groups["url"].Value);
        }
        else if (_servingUrl is not null && line.Contains("claude mcp add", StringComparison.Ordinal))
        {
            _mcpUrl.TrySetResult(_servingUrl);
        }
    }

    private sealed class OutputWaiter(Regex pattern, int count)
    {
        public Regex Pattern { get; } = pattern;

        public int Count { get; } = count;

        public int Seen { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [GeneratedRegex(@"is serving MCP at (?<url>http\S+)")]
    private static partial Regex ServingLine();

    private static partial class NativeMethods
    {
        public const int SigTerm = 15;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
