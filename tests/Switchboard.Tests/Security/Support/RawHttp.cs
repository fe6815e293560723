using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// Writes an HTTP/1.1 request byte for byte over a plain socket, for what HttpClient will not send (two
/// <c>Authorization</c> header lines, control characters in a header). Returns the status and the response headers.
/// </summary>
public static class RawHttp
{
    public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers)
    {
        public string? Header(string name) => Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    }

    /// <summary>Sends <paramref name="head"/> (request line and headers, CRLF-separated, without the final blank line) and a body.</summary>
    public static async Task<RawResponse> SendAsync(Uri server, string head, string body, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken);
        await using var stream = client.GetStream();
        var request = $"{head}\r\nHost: {server.Authority}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), cancellationToken);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        using var received = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(buffer, deadline.Token)) > 0)
        {
            received.Write(buffer.AsSpan(0, read));
            if (Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        var lines = text[..text.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(p => new KeyValuePair<string, string>(p[0].Trim(), p[1].Trim())).ToList();
        return new RawResponse(status, headers);
    }
}
