using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Bench.Load;

/// <summary>
/// A minimal HTTP/1.1 client over one keep-alive socket: it writes a request that is already bytes and reads the
/// response (status, a few headers, a body framed by <c>Content-Length</c> or chunked encoding) into reused buffers.
/// One request at a time; no pipelining, no TLS, no redirects. Far cheaper per request than <c>HttpClient</c>, which
/// matters when the load generator shares two cores with the server it measures.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private readonly EndPoint _endPoint;
    private Socket? _socket;
    private byte[] _receive = new byte[16 * 1024];
    private int _start;
    private int _end;
    private byte[] _body = new byte[16 * 1024];

    public RawHttpConnection(EndPoint endPoint) => _endPoint = endPoint;

    /// <summary>The body of the last response.</summary>
    public ReadOnlySpan<byte> Body(in HttpAnswer answer) => _body.AsSpan(0, answer.BodyLength);

    public bool IsConnected => _socket is not null;

    public async ValueTask ConnectAsync(CancellationToken cancellationToken)
    {
        Close();
        var socket = new Socket(_endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_endPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        _start = _end = 0;
    }

    /// <summary>Sends one request and reads its response. Throws on connection failures and cancellation.</summary>
    public async ValueTask<HttpAnswer> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var socket = _socket ?? throw new InvalidOperationException("Not connected.");
        while (!request.IsEmpty)
        {
            var sent = await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            request = request[sent..];
        }

        return await ReadResponseAsync(cancellationToken);
    }

    private async ValueTask<HttpAnswer> ReadResponseAsync(CancellationToken cancellationToken)
    {
        // Head: everything up to the blank line.
        int headEnd;
        while ((headEnd = _receive.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillAsync(cancellationToken);
        }

        var head = ParseHead(_receive.AsSpan(_start, headEnd));
        _start += headEnd + 4;
        var bodyLength = 0;
        if (head.Chunked)
        {
            while (true)
            {
                var size = await ReadChunkSizeAsync(cancellationToken);
                if (size == 0)
                {
                    // Trailers (none expected) end with a blank line.
                    while (true)
                    {
                        var lineEnd = await ReadLineAsync(cancellationToken);
                        var empty = lineEnd == _start;
                        _start = lineEnd + 2;
                        if (empty)
                        {
                            break;
                        }
                    }

                    break;
                }

                await CopyBodyAsync(size, bodyLength, cancellationToken);
                bodyLength += size;
                while (_end - _start < 2)
                {
                    await FillAsync(cancellationToken);
                }

                _start += 2;
            }
        }
        else if (head.ContentLength > 0)
        {
            await CopyBodyAsync(head.ContentLength, 0, cancellationToken);
            bodyLength = head.ContentLength;
        }

        if (head.ConnectionClose || (head.ContentLength < 0 && !head.Chunked && head.Status >= 200 && head.Status is not 204 and not 304))
        {
            // Unframed or closing: this connection cannot carry another request.
            Close();
            return new HttpAnswer(head.Status, bodyLength, head.IsEventStream, head.SessionId, ConnectionClose: true);
        }

        return new HttpAnswer(head.Status, bodyLength, head.IsEventStream, head.SessionId, ConnectionClose: false);
    }

    private async ValueTask CopyBodyAsync(int count, int offset, CancellationToken cancellationToken)
    {
        if (_body.Length < offset + count)
        {
            Array.Resize(ref _body, Math.Max(offset + count, _body.Length * 2));
        }

        while (count > 0)
        {
            if (_end == _start)
            {
                await FillAsync(cancellationToken);
            }

            var take = Math.Min(count, _end - _start);
            _receive.AsSpan(_start, take).CopyTo(_body.AsSpan(offset));
            _start += take;
            offset += take;
            count -= take;
        }
    }

    private async ValueTask<int> ReadChunkSizeAsync(CancellationToken cancellationToken)
    {
        var lineEnd = await ReadLineAsync(cancellationToken);
        var line = _receive.AsSpan(_start, lineEnd - _start);
        var extension = line.IndexOf((byte)';');
        if (extension >= 0)
        {
            line = line[..extension];
        }

        if (!Utf8Parser.TryParse(line.Trim((byte)' '), out int size, out var consumed, 'x') || consumed == 0 || size < 0)
        {
            throw new InvalidDataException("Bad chunk size.");
        }

        _start = lineEnd + 2;
        return size;
    }

    /// <summary>Returns the index of the next CRLF at or after <see cref="_start"/>, reading more when needed.</summary>
    private async ValueTask<int> ReadLineAsync(CancellationToken cancellationToken)
    {
        int index;
        while ((index = _receive.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
        {
            await FillAsync(cancellationToken);
        }

        return _start + index;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        var socket = _socket ?? throw new IOException("The connection is closed.");
        if (_start > 0)
        {
            // Keep the unread bytes at the front.
            var unread = _end - _start;
            if (unread > 0)
            {
                Buffer.BlockCopy(_receive, _start, _receive, 0, unread);
            }

            _start = 0;
            _end = unread;
        }

        if (_end == _receive.Length)
        {
            Array.Resize(ref _receive, _receive.Length * 2);
        }

        var read = await socket.ReceiveAsync(_receive.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new IOException("The server closed the connection.");
        }

        _end += read;
    }

    private static ResponseHead ParseHead(ReadOnlySpan<byte> head)
    {
        // "HTTP/1.1 200 OK"
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
        {
            throw new InvalidDataException("Bad status line.");
        }

        var result = new ResponseHead { Status = status, ContentLength = -1 };
        var lineEnd = head.IndexOf("\r\n"u8);
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            lineEnd = rest.IndexOf("\r\n"u8);
            var line = lineEnd < 0 ? rest : rest[..lineEnd];
            rest = lineEnd < 0 ? [] : rest[(lineEnd + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out result.ContentLength, out _))
                {
                    throw new InvalidDataException("Bad Content-Length.");
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                result.Chunked = value.IndexOf("chunked"u8) >= 0;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
            {
                result.IsEventStream = value.StartsWith("text/event-stream"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                result.ConnectionClose = Ascii.EqualsIgnoreCase(value, "close"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Mcp-Session-Id"u8))
            {
                result.SessionId = Encoding.ASCII.GetString(value);
            }
        }

        return result;
    }

    public void Close()
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        socket?.Dispose();
        _start = _end = 0;
    }

    public void Dispose() => Close();

    private struct ResponseHead
    {
        public int Status;
        public int ContentLength;
        public bool Chunked;
        public bool IsEventStream;
        public bool ConnectionClose;
        public string? SessionId;
    }
}
