using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Bench.Load;

/// <summary>
/// One WebSocket connection keeping up to <see cref="LoadOptions.InFlight"/> calls outstanding: a sender fills the
/// window, a receiver matches answers to requests by id (any order) and frees the window. A request with no answer in
/// time is counted as a timeout by <see cref="ExpireOverdue"/>, which the runner calls periodically.
/// </summary>
internal sealed class WebSocketWorker : IDisposable
{
    private const int Pending = 1;
    private const int Done = 2;
    private const int TimedOut = 3;

    private readonly LoadOptions _options;
    private readonly RequestTemplate _template;
    private readonly Slot[] _slots;
    private readonly long _mask;
    private readonly SemaphoreSlim _window;
    private readonly Lock _statsLock = new();
    private readonly long _timeoutTicks;
    private ClientWebSocket? _socket;
    private byte[] _receive = new byte[16 * 1024];
    private byte[] _send = new byte[4096];
    private byte[] _expected = new byte[4096];
    private long _nextId = 1;
    private WorkerStats? _stats;

    public WebSocketWorker(LoadOptions options, RequestTemplate template)
    {
        _options = options;
        _template = template;
        var size = 64;
        while (size < options.InFlight * 4)
        {
            size *= 2;
        }

        _slots = new Slot[size];
        _mask = size - 1;
        _window = new SemaphoreSlim(options.InFlight, options.InFlight);
        _timeoutTicks = (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency);
    }

    public WebSocketState State => _socket?.State ?? WebSocketState.None;

    public static Uri EndpointOf(Uri baseUri, string path)
        => new UriBuilder(baseUri) { Scheme = baseUri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = path }.Uri;

    /// <summary>Opens the connection (subprotocol <c>mcp</c>) and, for 2025-11-25, runs the handshake.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mcp");
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        foreach (var (name, value) in _options.Headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        _socket = socket;
        await socket.ConnectAsync(EndpointOf(_options.BaseUri, _template.Path), timeout.Token);
        if (_template.Transport == BenchTransport.WsLegacy)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(RequestTemplate.InitializeBody(0)), WebSocketMessageType.Text, true, timeout.Token);
            while (true)
            {
                var length = await ReceiveMessageAsync(socket, timeout.Token);
                if (length < 0)
                {
                    throw new WebSocketException("The server closed the connection during initialize.");
                }

                if (ResponseValidator.TryReadResponseId(_receive.AsSpan(0, length), out var id) && id == 0)
                {
                    break;
                }
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes(RequestTemplate.InitializedNotification), WebSocketMessageType.Text, true, timeout.Token);
        }
    }

    /// <summary>Sends and receives until the window in <paramref name="stats"/> ends, waits for the calls in flight, then closes.</summary>
    public async Task RunAsync(WorkerStats stats, CancellationToken cancellationToken)
    {
        _stats = stats;
        var socket = _socket ?? throw new InvalidOperationException("Not connected.");
        var receiver = ReceiveLoopAsync(socket, cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _window.WaitAsync(cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (stats.IsPastWindow(now) || socket.State != WebSocketState.Open)
                {
                    _window.Release();
                    break;
                }

                var id = _nextId++;
                ref var slot = ref _slots[id & _mask];
                slot.Id = id;
                slot.Start = now;
                Volatile.Write(ref slot.State, Pending);
                var needed = _template.BodyLength(id);
                if (_send.Length < needed)
                {
                    _send = new byte[needed * 2];
                }

                var length = _template.WriteBody(_send, id);
                await socket.SendAsync(_send.AsMemory(0, length), WebSocketMessageType.Text, true, cancellationToken);
            }

            // Let the calls in flight finish (or time out) before closing.
            for (var i = 0; i < _options.InFlight; i++)
            {
                if (!await _window.WaitAsync(_options.Timeout + TimeSpan.FromSeconds(1), CancellationToken.None))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                RecordFailure(CallCheck.Connection);
            }
        }
        finally
        {
            if (socket.State == WebSocketState.Open)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", close.Token);
                }
                catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
                {
                }
            }

            await receiver.WaitAsync(TimeSpan.FromSeconds(3), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            socket.Abort();
        }
    }

    /// <summary>Counts calls in flight for longer than the timeout as timeouts and frees their place in the window.</summary>
    public void ExpireOverdue(long now)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            ref var slot = ref _slots[i];
            if (Volatile.Read(ref slot.State) == Pending && now - slot.Start > _timeoutTicks
                && Interlocked.CompareExchange(ref slot.State, TimedOut, Pending) == Pending)
            {
                Record(CallCheck.Timeout, slot.Start, now);
                _window.Release();
            }
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var length = await ReceiveMessageAsync(socket, cancellationToken);
                if (length < 0)
                {
                    return;
                }

                var finished = Stopwatch.GetTimestamp();
                var message = _receive.AsSpan(0, length);
                long id;
                if (_template.Transport == BenchTransport.RawWs)
                {
                    // The echo of our own request: the id follows the fixed prefix.
                    if (!message.StartsWith(_template.BodyPrefix) || !Utf8Parser.TryParse(message[_template.BodyPrefix.Length..], out id, out _))
                    {
                        Record(CallCheck.Malformed, finished, finished);
                        continue;
                    }
                }
                else if (!ResponseValidator.TryReadResponseId(message, out id))
                {
                    // A notification or server request is not an answer; an error without an id is.
                    var check = ResponseValidator.CheckJsonRpc(message, -1, _template.ExpectedText, out var isResponse);
                    if (isResponse)
                    {
                        Record(check, finished, finished);
                    }

                    continue;
                }

                ref var slot = ref _slots[id & _mask];
                if (slot.Id != id || id <= 0 || id >= _nextId)
                {
                    if (id <= 0 || id >= _nextId)
                    {
                        Record(CallCheck.WrongId, finished, finished);
                    }

                    // Otherwise a late answer to a call already counted as a timeout.
                    continue;
                }

                if (Interlocked.CompareExchange(ref slot.State, Done, Pending) != Pending)
                {
                    continue;
                }

                CallCheck result;
                if (_template.Transport == BenchTransport.RawWs)
                {
                    var expectedLength = _template.BodyLength(id);
                    if (_expected.Length < expectedLength)
                    {
                        _expected = new byte[expectedLength * 2];
                    }

                    _template.WriteBody(_expected, id);
                    result = message.SequenceEqual(_expected.AsSpan(0, expectedLength)) ? CallCheck.Ok : CallCheck.WrongContent;
                }
                else
                {
                    result = ResponseValidator.CheckJsonRpc(message, id, _template.ExpectedText, out _);
                }

                Record(result, slot.Start, finished);
                _window.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads one whole message into <see cref="_receive"/>; -1 when the server closed.</summary>
    private async ValueTask<int> ReceiveMessageAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var count = 0;
        while (true)
        {
            if (count == _receive.Length)
            {
                Array.Resize(ref _receive, _receive.Length * 2);
            }

            var result = await socket.ReceiveAsync(_receive.AsMemory(count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return -1;
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                return count;
            }
        }
    }

    private void Record(CallCheck check, long started, long finished)
    {
        lock (_statsLock)
        {
            _stats?.Record(check, started, finished);
        }
    }

    private void RecordFailure(CallCheck check)
    {
        lock (_statsLock)
        {
            _stats?.RecordFailure(check);
        }
    }

    public void Dispose()
    {
        _socket?.Dispose();
        _window.Dispose();
    }

    private struct Slot
    {
        public long Id;
        public long Start;
        public int State;
    }
}
