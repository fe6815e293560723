using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Switchboard.Hosting;

/// <summary>
/// Decides which addresses the server may listen on. With authentication off (<c>--no-auth</c>) only loopback addresses
/// are allowed: anything else would put unauthenticated tools on the network.
/// </summary>
public static class ListenAddressPolicy
{
    /// <summary>Splits a <c>--urls</c> value and checks every address; throws with an operator-facing message otherwise.</summary>
    public static IReadOnlyList<string> Parse(string urls, bool authenticationRequired)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var result = new List<string>();
        foreach (var raw in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParseAddress(raw, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || (uri.AbsolutePath != "/" && uri.AbsolutePath.Length > 0))
            {
                throw new SwitchboardStartupException($"'{raw}' is not a listen address; use the form http://127.0.0.1:8080.");
            }

            if (!authenticationRequired && !IsLoopback(uri.Host))
            {
                throw new SwitchboardStartupException(
                    $"Refusing to listen on {raw} with authentication off (--no-auth): unauthenticated, Switchboard only " +
                    "listens on loopback addresses (127.0.0.1, [::1] or localhost). Remove --no-auth, or use for example " +
                    "--urls http://127.0.0.1:8080.");
            }

            result.Add(raw);
        }

        if (result.Count == 0)
        {
            throw new SwitchboardStartupException("No listen address given; use for example --urls http://127.0.0.1:8080.");
        }

        return result;
    }

    /// <summary>A listen address as a URI, Kestrel's "any address" hosts <c>+</c> and <c>*</c> read as <c>0.0.0.0</c>.</summary>
    internal static bool TryParseAddress(string address, [NotNullWhen(true)] out Uri? uri)
        => Uri.TryCreate(
            address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal),
            UriKind.Absolute,
            out uri);

    /// <summary>Whether a listen address's host means every address of the machine (which no client can use as a name).</summary>
    internal static bool IsWildcard(string host)
        => host is "0.0.0.0" or "[::]" or "::" or "+" or "*";

    internal static bool IsLoopback(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }
}
