using System.Net;
using System.Net.Sockets;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// A real listening socket on 127.0.0.1 that nothing should ever connect to. Its URL goes into every URL-bearing header
/// and claim of an attack token (<c>jku</c>, <c>x5u</c>, <c>iss</c>, ...); a test then asserts <see cref="Connections"/>
/// is still zero, which proves the server followed none of them (catalog convention NO-EGRESS).
/// </summary>
public sealed class LoopbackCanary : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    public LoopbackCanary()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Connections accepted since start.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public string Url(string path = "/jwks.json") => $"http://127.0.0.1:{Port}{path}";

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}
