using System.Net;
using System.Net.Sockets;

namespace Switchboard.Tests.TestSupport;

internal static class LoopbackPort
{
    /// <summary>
    /// A loopback port nothing listens on (bound, then released), for a process that must be told its port before it
    /// starts. Another process could take it in between; prefer port 0 wherever the port can be read back.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
