using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Transports.Http;

/// <summary>
/// The <c>Host</c> values and browser origins the server accepts: derived from the addresses it is bound to, plus
/// configuration. This is the DNS-rebinding defence: a page on another site that resolves its own name to 127.0.0.1
/// still sends its own <c>Host</c> and <c>Origin</c>, and is refused.
/// </summary>
internal sealed class EndpointAllowlist(IServer server, IOptions<SwitchboardOptions> options)
{
    private static readonly string[] s_loopbackNames = ["localhost", "127.0.0.1", "[::1]"];
    private volatile Snapshot? _snapshot;

    public bool IsHostAllowed(HostString host)
    {
        if (!host.HasValue || string.IsNullOrEmpty(host.Host))
        {
            return false;
        }

        var current = GetSnapshot();
        return current.AnyHost || current.Hosts.Contains(NormalizeHost(host.Host));
    }

    public bool IsOriginAllowed(string origin)
    {
        var current = GetSnapshot();
        if (current.AnyOrigin)
        {
            return true;
        }

        return TryNormalizeOrigin(origin, out var normalized) && current.Origins.Contains(normalized);
    }

    /// <summary>The hosts and origins in force, for diagnostics and tests.</summary>
    public (IReadOnlyCollection<string> Hosts, IReadOnlyCollection<string> Origins) Describe()
    {
        var current = GetSnapshot();
        return (current.Hosts, current.Origins);
    }

    internal static bool TryNormalizeOrigin(string origin, out string normalized)
    {
        normalized = string.Empty;
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        normalized = uri.IsDefaultPort
            ? $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}"
            : $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}";
        return true;
    }

    private static string NormalizeHost(string host)
    {
        var trimmed = host.Trim().ToLowerInvariant();
        return trimmed.EndsWith('.') ? trimmed[..^1] : trimmed;
    }

    private Snapshot GetSnapshot()
    {
        var current = _snapshot;
        if (current is not null)
        {
            return current;
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var built = Build(addresses, options.Value.Http);

        // Only cache once the server has bound its addresses (with port 0 they are known only after start).
        if (addresses.Count > 0)
        {
            _snapshot = built;
        }

        return built;
    }

    internal static Snapshot Build(IEnumerable<string> addresses, HttpOptions http)
    {
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        var origins = new HashSet<string>(StringComparer.Ordinal);
        foreach (var address in addresses)
        {
            if (!ListenAddressPolicy.TryParseAddress(address, out var uri))
            {
                continue;
            }

            // A wildcard address listens on loopback too, so the loopback names are its own (that is how a container's
            // published port is reached from its host); any other name it is reached by must be configured
            // (Http:AllowedHosts), since the machine's public names cannot be derived from 0.0.0.0.
            var names = ListenAddressPolicy.IsLoopback(uri.Host) || ListenAddressPolicy.IsWildcard(uri.Host) ? s_loopbackNames : [NormalizeHost(uri.Host)];
            foreach (var name in names)
            {
                hosts.Add(name);
                origins.Add(uri.IsDefaultPort ? $"{uri.Scheme}://{name}" : $"{uri.Scheme}://{name}:{uri.Port}");
            }
        }

        var anyHost = false;
        foreach (var configured in http.AllowedHosts)
        {
            if (configured.Trim() == "*")
            {
                anyHost = true;
                continue;
            }

            var value = configured.Trim();
            var hostOnly = HostString.FromUriComponent(value).Host;
            hosts.Add(NormalizeHost(hostOnly));
        }

        var anyOrigin = false;
        foreach (var configured in http.AllowedOrigins)
        {
            if (configured.Trim() == "*")
            {
                anyOrigin = true;
            }
            else if (TryNormalizeOrigin(configured.Trim(), out var normalized))
            {
                origins.Add(normalized);
            }
        }

        return new Snapshot(hosts, origins, anyHost, anyOrigin);
    }

    internal sealed record Snapshot(HashSet<string> Hosts, HashSet<string> Origins, bool AnyHost, bool AnyOrigin);
}
