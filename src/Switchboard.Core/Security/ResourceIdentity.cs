using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Security;

/// <summary>
/// Who this server is to OAuth: its canonical resource URI (the audience tokens must carry) and the issuer identifier of
/// the tokens it mints. Configured, or derived from the first listen address (<c>http://127.0.0.1:8080/mcp</c> and
/// <c>http://127.0.0.1:8080</c>); behind a proxy, configure the public URL.
/// </summary>
public sealed class ResourceIdentity
{
    private readonly string? _configuredIssuer;
    private readonly string? _configuredResource;
    private readonly string _configuredOrigin;
    private readonly Func<IEnumerable<string>>? _boundAddresses;
    private (string Issuer, string Resource)? _resolved;

    public ResourceIdentity(IOptions<SecurityOptions> security, IOptions<SwitchboardOptions> switchboard)
        : this(security, switchboard, recorded: null)
    {
    }

    /// <summary>
    /// With <paramref name="recorded"/> (the identity the server last started with, read from the data folder), tools
    /// that run without the server's listen addresses (<c>switchboard token issue</c>) mint tokens it accepts. With
    /// <paramref name="boundAddresses"/>, a listen address with port 0 is replaced by the port the server actually bound,
    /// so the identity (and every discovery document) names an address clients can reach.
    /// </summary>
    internal ResourceIdentity(
        IOptions<SecurityOptions> security,
        IOptions<SwitchboardOptions> switchboard,
        (string Issuer, string Resource)? recorded,
        Func<IEnumerable<string>>? boundAddresses = null)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(switchboard);
        var first = switchboard.Value.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "http://127.0.0.1:8080";
        _configuredOrigin = Normalize(first);
        _configuredIssuer = security.Value.Issuer ?? recorded?.Issuer;
        _configuredResource = security.Value.Resource ?? recorded?.Resource;
        _boundAddresses = boundAddresses;
        if (_configuredIssuer is not null && _configuredResource is not null)
        {
            _resolved = (Normalize(_configuredIssuer), Normalize(_configuredResource));
        }
        else if (!new Uri(_configuredOrigin).Authority.EndsWith(":0", StringComparison.Ordinal) || boundAddresses is null)
        {
            _resolved = Resolve(_configuredOrigin);
        }
    }

    /// <summary>The <c>meta</c> keys under which a server records its identity at start.</summary>
    internal const string IssuerMetaKey = "oauth_issuer";
    internal const string ResourceMetaKey = "oauth_resource";

    /// <summary>The audience every accepted token must carry, compared exactly.</summary>
    public string Resource => Current.Resource;

    /// <summary>The <c>iss</c> of tokens this server issues.</summary>
    public string Issuer => Current.Issuer;

    private (string Issuer, string Resource) Current
    {
        get
        {
            if (_resolved is { } resolved)
            {
                return resolved;
            }

            // Port 0: the real port is known once the server has bound; until then (nothing can reach us yet) the
            // configured form is answered but not kept.
            var bound = _boundAddresses?.Invoke().FirstOrDefault(a => a.StartsWith(new Uri(_configuredOrigin).Scheme + "://", StringComparison.OrdinalIgnoreCase));
            if (bound is null)
            {
                return Resolve(_configuredOrigin);
            }

            var current = Resolve(Normalize(bound));
            _resolved = current;
            return current;
        }
    }

    private (string Issuer, string Resource) Resolve(string origin)
        => (Normalize(_configuredIssuer ?? origin), Normalize(_configuredResource ?? origin + SwitchboardEndpointRouteBuilderExtensions.McpPath));

    /// <summary>
    /// Lower-case scheme and host, no default port, no trailing slash (MCP's canonical server URI form); a wildcard host
    /// (<c>+</c>, <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>) becomes <c>localhost</c>.
    /// </summary>
    public static string Normalize(string uri)
    {
        if (!ListenAddressPolicy.TryParseAddress(uri, out var parsed))
        {
            throw new SwitchboardStartupException($"'{uri}' is not an absolute URI.");
        }

        // A wildcard bind (a container's 0.0.0.0) names no address a client can use; the clients on the host reach it
        // as localhost, so that is the identity.
        var host = ListenAddressPolicy.IsWildcard(parsed.Host) ? "localhost" : parsed.Host.ToLowerInvariant();
        var authority = parsed.IsDefaultPort ? host : $"{host}:{parsed.Port}";
        var path = parsed.AbsolutePath.TrimEnd('/');
        return $"{parsed.Scheme.ToLowerInvariant()}://{authority}{path}";
    }
}
