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
    public ResourceIdentity(IOptions<SecurityOptions> security, IOptions<SwitchboardOptions> switchboard)
        : this(security, switchboard, recorded: null)
    {
    }

    /// <summary>
    /// With <paramref name="recorded"/> (the identity the server last started with, read from the data folder), tools
    /// that run without the server's listen addresses (<c>switchboard token issue</c>) mint tokens it accepts.
    /// </summary>
    internal ResourceIdentity(IOptions<SecurityOptions> security, IOptions<SwitchboardOptions> switchboard, (string Issuer, string Resource)? recorded)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(switchboard);
        var first = switchboard.Value.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "http://127.0.0.1:8080";
        var origin = Normalize(first);
        Issuer = Normalize(security.Value.Issuer ?? recorded?.Issuer ?? origin);
        Resource = Normalize(security.Value.Resource ?? recorded?.Resource ?? origin + SwitchboardEndpointRouteBuilderExtensions.McpPath);
    }

    /// <summary>The <c>meta</c> keys under which a server records its identity at start.</summary>
    internal const string IssuerMetaKey = "oauth_issuer";
    internal const string ResourceMetaKey = "oauth_resource";

    /// <summary>The audience every accepted token must carry, compared exactly.</summary>
    public string Resource { get; }

    /// <summary>The <c>iss</c> of tokens this server issues.</summary>
    public string Issuer { get; }

    /// <summary>Lower-case scheme and host, no default port, no trailing slash (MCP's canonical server URI form).</summary>
    public static string Normalize(string uri)
    {
        if (!Uri.TryCreate(uri.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var parsed))
        {
            throw new SwitchboardStartupException($"'{uri}' is not an absolute URI.");
        }

        var authority = parsed.IsDefaultPort ? parsed.Host.ToLowerInvariant() : $"{parsed.Host.ToLowerInvariant()}:{parsed.Port}";
        var path = parsed.AbsolutePath.TrimEnd('/');
        return $"{parsed.Scheme.ToLowerInvariant()}://{authority}{path}";
    }
}
