using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Processes;

/// <summary>Readiness probes: "accepts TCP connections" or "GET path answers 200", each one cheap attempt.</summary>
internal static class Probe
{
    public static async Task<bool> IsReadyAsync(IPEndPoint endPoint, string ready, CancellationToken cancellationToken)
    {
        try
        {
            if (string.Equals(ready, "tcp", StringComparison.OrdinalIgnoreCase))
            {
                using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(endPoint, cancellationToken);
                return true;
            }

            using var connection = new RawHttpConnection(endPoint);
            await connection.ConnectAsync(cancellationToken);
            var request = Encoding.ASCII.GetBytes($"GET {ready} HTTP/1.1\r\nHost: {endPoint}\r\nConnection: close\r\n\r\n");
            var answer = await connection.SendAsync(request, cancellationToken);
            return answer.Status == 200;
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>A TCP port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
