namespace Switchboard.Transports.WebSockets;

/// <summary>Settings of the WebSocket transport, bound from <c>Switchboard:WebSockets</c>.</summary>
public sealed class WebSocketTransportOptions
{
    public const string SectionName = "Switchboard:WebSockets";

    /// <summary>Largest accepted message (one JSON-RPC message, possibly split over frames). Larger closes the connection with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Requests one connection may have in flight; the server stops reading from the connection at the limit.</summary>
    public int MaxInFlightPerConnection { get; set; } = 32;

    /// <summary>Connections held at once; further upgrades get 503.</summary>
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>How often the server pings the client.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server waits for a pong before dropping the connection as dead.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection with no message either way and no request in flight for this long is closed (1000, "idle timeout").</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Let a connection's MCP SDK server go when it holds nothing a new one could not get (no <c>logging/setLevel</c>, no
    /// suspended handler); the next message makes a new one, into which a 2025-11-25 session's <c>initialize</c> is
    /// replayed first. It saves about 8.5 KB of every idle connection; turning it off keeps one server per connection for
    /// good.
    /// </summary>
    public bool ReleaseIdleServers { get; set; } = true;

    /// <summary>
    /// A connection whose requests arrive less than this apart keeps its server between them, and lets it go once it has
    /// been quiet this long; a connection whose requests come further apart lets it go as soon as each is answered.
    /// Zero lets it go after every answer. The default covers the gaps inside a busy client's burst (a closed-loop client
    /// under load answers within milliseconds) while a server whose connection went quiet is let go before the GC
    /// promotes it (measured: 2 s left 234 MiB committed for 10,000 connections that made three quick calls, 100 ms 198-202).
    /// </summary>
    public TimeSpan ServerLinger { get; set; } = TimeSpan.FromMilliseconds(100);
}
