using Microsoft.AspNetCore.Http;

namespace Switchboard.Security;

/// <summary>How the credentials of a request looked before validation.</summary>
public enum CredentialPresence
{
    /// <summary>No bearer credentials at all.</summary>
    None,

    /// <summary>Exactly one well-formed bearer token.</summary>
    Token,

    /// <summary>Credentials present but not a well-formed bearer request (several headers, several tokens, bad characters).</summary>
    Malformed,
}

/// <summary>
/// Reads the bearer token of a request: from the <c>Authorization</c> header only (RFC 6750 §2.1; never the query string or
/// body), or — for a WebSocket upgrade, which browsers cannot give that header — from a <c>Sec-WebSocket-Protocol</c>
/// entry <c>bearer.&lt;token&gt;</c> (the Kubernetes convention). The subprotocol the server selects is never that entry,
/// so the token is not echoed back.
/// </summary>
public static class BearerCredentials
{
    public const string WebSocketProtocolPrefix = "bearer.";

    private static readonly System.Buffers.SearchValues<char> s_b64Token = System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");

    public static CredentialPresence Read(HttpRequest request, int maxBytes, out string token)
    {
        ArgumentNullException.ThrowIfNull(request);
        token = string.Empty;
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 1)
        {
            return CredentialPresence.Malformed;
        }

        if (authorization.Count == 1)
        {
            var value = authorization[0] ?? string.Empty;
            var space = value.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !value.AsSpan(0, space).Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                // Another scheme (Basic, ...) is simply not bearer credentials.
                return CredentialPresence.None;
            }

            return TakeToken(value[(space + 1)..], maxBytes, out token);
        }

        if (IsWebSocketUpgrade(request))
        {
            string? found = null;
            foreach (var entry in request.Headers.SecWebSocketProtocol.SelectMany(v => (v ?? string.Empty).Split(',')))
            {
                var trimmed = entry.Trim();
                if (trimmed.StartsWith(WebSocketProtocolPrefix, StringComparison.Ordinal))
                {
                    if (found is not null)
                    {
                        return CredentialPresence.Malformed;
                    }

                    found = trimmed[WebSocketProtocolPrefix.Length..];
                }
            }

            if (found is not null)
            {
                return TakeToken(found, maxBytes, out token);
            }
        }

        return CredentialPresence.None;
    }

    private static CredentialPresence TakeToken(string candidate, int maxBytes, out string token)
    {
        // An over-long token is handed on as is: the validator refuses it by size before any parsing, with the same
        // answer as every other invalid token.
        token = candidate;
        if (candidate.Length > maxBytes)
        {
            return CredentialPresence.Token;
        }

        // RFC 6750 b64token: one token, no whitespace, no commas.
        if (candidate.Length == 0 || !IsB64Token(candidate))
        {
            token = string.Empty;
            return CredentialPresence.Malformed;
        }

        return CredentialPresence.Token;
    }

    private static bool IsB64Token(string value)
    {
        var end = value.Length;
        while (end > 0 && value[end - 1] == '=')
        {
            end--;
        }

        return end > 0 && value.AsSpan(0, end).IndexOfAnyExcept(s_b64Token) < 0;
    }

    private static bool IsWebSocketUpgrade(HttpRequest request)
        => HttpMethods.IsGet(request.Method)
            && request.Headers.Upgrade.Any(u => string.Equals(u, "websocket", StringComparison.OrdinalIgnoreCase));
}
