using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Stdio;

/// <summary>
/// The real <c>switchboard stdio</c> executable as a child process, spoken to with raw JSON-RPC lines, so a test sees
/// exactly what the server writes: every standard output line is kept as it came, and standard error separately.
/// Disposing closes standard input and waits for the process to exit (killing it only if it does not).
/// </summary>
internal sealed class StdioServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_responseTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _stdoutLines = [];
    private readonly StringBuilder _stderr = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new(StringComparer.Ordinal);
    private readonly List<JsonObject> _notifications = [];
    private readonly List<(string Method, TaskCompletionSource<JsonObject> Received)> _notificationWaiters = [];
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private int _nextId;

    private StdioServerProcess(Process process)
    {
        _process = process;
        _stdoutPump = Task.Run(PumpStandardOutputAsync);
        _stderrPump = Task.Run(PumpStandardErrorAsync);
    }

    /// <summary>Every line the server wrote to standard output so far, as written.</summary>
    public IReadOnlyList<string> StandardOutputLines { get { lock (_stdoutLines) { return [.. _stdoutLines]; } } }

    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    public int Id => _process.Id;

    /// <summary>Starts <c>switchboard</c> with the given arguments (for example <c>stdio --data DIR</c>).</summary>
    public static StdioServerProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var startInfo = new ProcessStartInfo(SwitchboardProcess.ExecutablePath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = utf8,
            StandardOutputEncoding = utf8,
            StandardErrorEncoding = utf8,
            UseShellExecute = false,

            // A desktop client may start the server in any folder; nothing may depend on it.
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

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

        return new StdioServerProcess(Process.Start(startInfo) ?? throw new InvalidOperationException("switchboard did not start."));
    }

    /// <summary>Writes one line to the server's standard input.</summary>
    public async Task SendLineAsync(string line, CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
    }

    /// <summary>Sends a notification (no id, no answer).</summary>
    public Task NotifyAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var message = new JsonObject { ["jsonrpc"] = "2.0", ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = parameters;
        }

        return SendLineAsync(message.ToJsonString(), cancellationToken);
    }

    /// <summary>Sends a request and returns the response with the same id (a result or an error).</summary>
    public async Task<JsonObject> RequestAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var id = "req-" + Interlocked.Increment(ref _nextId);
        var response = ExpectResponse(id);
        var message = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = parameters;
        }

        await SendLineAsync(message.ToJsonString(), cancellationToken);
        return await response.WaitAsync(s_responseTimeout, cancellationToken);
    }

    /// <summary>A task for the response with this id, for requests sent with <see cref="SendLineAsync"/>.</summary>
    public Task<JsonObject> ExpectResponse(string id)
        => _pending.GetOrAdd(id, _ => new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>A task for the first notification with this method the server sends (or has sent).</summary>
    public Task<JsonObject> ExpectNotification(string method)
    {
        lock (_notifications)
        {
            if (_notifications.FirstOrDefault(n => n["method"]?.GetValue<string>() == method) is { } received)
            {
                return Task.FromResult(received);
            }

            var waiter = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            _notificationWaiters.Add((method, waiter));
            return waiter.Task;
        }
    }

    /// <summary>Runs the 2025-11-25 handshake and returns the <c>initialize</c> result.</summary>
    public async Task<JsonObject> InitializeAsync(CancellationToken cancellationToken)
    {
        var response = await RequestAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = McpHttp.Legacy,
            ["capabilities"] = new JsonObject(),
            ["clientInfo"] = new JsonObject { ["name"] = "switchboard-tests", ["version"] = "1.0.0" },
        }, cancellationToken);
        var result = response["result"] as JsonObject ?? throw new InvalidOperationException("initialize failed: " + response.ToJsonString() + Environment.NewLine + StandardError);
        await NotifyAsync("notifications/initialized", null, cancellationToken);
        return result;
    }

    /// <summary>Closes the server's standard input: the client went away.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Sends SIGTERM (what a client sends when the server does not exit after its input closes).</summary>
    public async Task TerminateAsync(CancellationToken cancellationToken)
    {
        var kill = await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken: cancellationToken);
        Assert.True(kill.ExitCode == 0, "kill -TERM failed: " + kill.Combined);
    }

    /// <summary>Waits for the process to exit and for its output to be read to the end; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(s_responseTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException("switchboard stdio did not exit." + Environment.NewLine + StandardError, ex);
        }

        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(s_responseTimeout, cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                CloseInput();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _process.WaitForExitAsync(deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
        }
        catch (IOException)
        {
            // Standard input was already closed.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task PumpStandardOutputAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_stdoutLines)
            {
                _stdoutLines.Add(line);
            }

            // Lines that are not JSON-RPC responses or notifications are only recorded; the tests check them.
            var message = TryParseObject(line);
            if (message?["id"] is JsonValue id && (message.ContainsKey("result") || message.ContainsKey("error")))
            {
                _pending.GetOrAdd(id.ToString(), _ => new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(message);
            }
            else if (message is not null && !message.ContainsKey("id") && message["method"] is JsonValue method)
            {
                OnNotification(method.ToString(), message);
            }
        }

        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new IOException("switchboard closed its standard output." + Environment.NewLine + StandardError));
        }
    }

    private void OnNotification(string method, JsonObject message)
    {
        lock (_notifications)
        {
            _notifications.Add(message);
            foreach (var waiter in _notificationWaiters.Where(w => w.Method == method).ToList())
            {
                waiter.Received.TrySetResult(message);
                _notificationWaiters.Remove(waiter);
            }
        }
    }

    private async Task PumpStandardErrorAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_stderr)
            {
                _stderr.AppendLine(line);
            }
        }
    }

    private static JsonObject? TryParseObject(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
