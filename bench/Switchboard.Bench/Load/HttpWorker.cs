using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Bench.Load;

/// <summary>One HTTP connection running one call at a time until the measured window ends (REST, Streamable HTTP, raw echo).</summary>
internal sealed class HttpWorker : IDisposable
{
    private readonly LoadOptions _options;
    private readonly RequestTemplate _template;
    private readonly string _hostHeader;
    private readonly RawHttpConnection _connection;
    private byte[] _request = new byte[4096];
    private byte[]? _head;
    private long _nextId = 1;

    public HttpWorker(LoadOptions options, RequestTemplate template, EndPoint endPoint)
    {
        _options = options;
        _template = template;
        _hostHeader = options.BaseUri.Authority;
        _connection = new RawHttpConnection(endPoint);
    }

    /// <summary>The 2025-11-25 session of this connection, once initialized.</summary>
    public string? SessionId { get; private set; }

    /// <summary>Opens the connection and, for 2025-11-25, runs the handshake. Throws when the server refuses.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        await _connection.ConnectAsync(timeout.Token);
        SessionId = null;
        if (_template.Transport == BenchTransport.McpLegacy)
        {
            var initHead = RequestTemplate.BuildHead(_template.Path, _hostHeader, BenchTransport.McpLegacy, null, null, _options.Headers);
            var length = RequestTemplate.WriteRequest(ref _request, initHead, null, 0, Encoding.UTF8.GetBytes(RequestTemplate.InitializeBody(0)));
            var answer = await _connection.SendAsync(_request.AsMemory(0, length), timeout.Token);
            if (answer.Status != 200 || answer.SessionId is null)
            {
                throw new HttpRequestException($"initialize answered {answer.Status}{(answer.SessionId is null ? " without a session id" : string.Empty)}.");
            }

            SessionId = answer.SessionId;
            var sessionHead = RequestTemplate.BuildHead(_template.Path, _hostHeader, BenchTransport.McpLegacy, null, SessionId, _options.Headers);
            length = RequestTemplate.WriteRequest(ref _request, sessionHead, null, 0, Encoding.UTF8.GetBytes(RequestTemplate.InitializedNotification));
            answer = await _connection.SendAsync(_request.AsMemory(0, length), timeout.Token);
            if (answer.Status is not (200 or 202))
            {
                throw new HttpRequestException($"notifications/initialized answered {answer.Status}.");
            }

            if (answer.ConnectionClose)
            {
                throw new HttpRequestException("The server closed the connection after the handshake.");
            }
        }

        _head = _template.BuildHead(_hostHeader, SessionId, _options.Headers);
    }

    /// <summary>Calls the tool in a loop until the window in <paramref name="stats"/> ends or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(WorkerStats stats, CancellationToken cancellationToken)
    {
        var timeout = new CancellationTokenSource();
        try
        {
            while (!cancellationToken.IsCancellationRequested && !stats.IsPastWindow(Stopwatch.GetTimestamp()))
            {
                if (!_connection.IsConnected || _head is null)
                {
                    try
                    {
                        await ConnectAsync(cancellationToken);
                    }
                    catch (Exception ex) when (ex is IOException or SocketException or HttpRequestException or OperationCanceledException or InvalidDataException)
                    {
                        if (cancellationToken.IsCancellationRequested)
                        {
                            break;
                        }

                        stats.RecordFailure(CallCheck.Connection);
                        await Task.Delay(50, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        continue;
                    }
                }

                var id = _nextId++;
                var length = RequestTemplate.WriteRequest(ref _request, _head!, _template, id);
                var started = Stopwatch.GetTimestamp();
                CallCheck check;
                timeout.CancelAfter(_options.Timeout);
                try
                {
                    var answer = await _connection.SendAsync(_request.AsMemory(0, length), timeout.Token);
                    check = Judge(answer, id, _request.AsSpan(length - _template.BodyLength(id), _template.BodyLength(id)));
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    check = CallCheck.Timeout;
                    _connection.Close();
                }
                catch (InvalidDataException)
                {
                    check = CallCheck.Malformed;
                    _connection.Close();
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    check = CallCheck.Connection;
                    _connection.Close();
                }

                if (!timeout.TryReset())
                {
                    timeout.Dispose();
                    timeout = new CancellationTokenSource();
                }

                stats.Record(check, started, Stopwatch.GetTimestamp());
            }
        }
        finally
        {
            timeout.Dispose();
        }
    }

    /// <summary>Makes one call on the open connection (cold start: the first call after ready).</summary>
    public async Task<CallCheck> CallOnceAsync(CancellationToken cancellationToken)
    {
        if (_head is null || !_connection.IsConnected)
        {
            return CallCheck.Connection;
        }

        var id = _nextId++;
        var length = RequestTemplate.WriteRequest(ref _request, _head, _template, id);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            var answer = await _connection.SendAsync(_request.AsMemory(0, length), timeout.Token);
            return Judge(answer, id, _request.AsSpan(length - _template.BodyLength(id), _template.BodyLength(id)));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _connection.Close();
            return CallCheck.Timeout;
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
        {
            _connection.Close();
            return CallCheck.Connection;
        }
    }

    private CallCheck Judge(in HttpAnswer answer, long id, ReadOnlySpan<byte> sentBody)
    {
        if (answer.Status != 200)
        {
            return CallCheck.HttpStatus;
        }

        var body = _connection.Body(answer);
        return _template.Transport switch
        {
            BenchTransport.RawHttp => body.SequenceEqual(sentBody) ? CallCheck.Ok : CallCheck.WrongContent,
            BenchTransport.Rest => ResponseValidator.CheckToolResult(body, _template.ExpectedText),
            _ => ResponseValidator.CheckMcpBody(body, answer.IsEventStream, id, _template.ExpectedText),
        };
    }

    public void Dispose() => _connection.Dispose();
}
