using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Switchboard.Security;

/// <summary>
/// OAuth 2.0 token revocation (RFC 7009) at <c>/oauth/revoke</c>: a registered client revokes an access token it was
/// issued, for example when it shuts down or suspects a leak. The client authenticates as at the token endpoint (HTTP
/// Basic or form, not both), under the same per-address rate limit. Only a token that this server signed for that very
/// client is revoked; a token issued to another client is refused with <c>unauthorized_client</c>, and a token that
/// is not valid here (malformed, expired, from another issuer) is answered 200 with nothing to do, as §2.2 asks.
/// </summary>
internal sealed class TokenRevocationEndpoint(
    OAuthClientStore clients,
    AccessTokenValidator validator,
    TokenRevocationList revocations,
    ResourceIdentity identity,
    TokenRequestLimiter limiter)
{
    public const string Path = "/oauth/revoke";

    public async Task HandleAsync(HttpContext context)
    {
        if (await TokenEndpoint.ReadLimitedFormAsync(context, limiter) is not { } form
            || await TokenEndpoint.AuthenticateClientAsync(context, form, clients) is not { } client)
        {
            return;
        }

        if (form["token"] is not { Count: 1 } token || string.IsNullOrEmpty(token[0]))
        {
            await TokenEndpoint.ErrorAsync(context, 400, "invalid_request", "Name the token to revoke in the 'token' parameter.");
            return;
        }

        // token_type_hint is optional and only a hint (§2.1): this server issues access tokens only.
        var outcome = await validator.ValidateAsync(token[0]!, context.RequestAborted);
        if (outcome.Accepted is { } accepted && string.Equals(accepted.Issuer, identity.Issuer, StringComparison.Ordinal))
        {
            var owner = accepted.Principal.FindFirst(SwitchboardClaims.ClientId)?.Value;
            if (!string.Equals(owner, client.ClientId, StringComparison.Ordinal))
            {
                await TokenEndpoint.ErrorAsync(context, 400, "unauthorized_client", "The token was not issued to this client.");
                return;
            }

            // ValidUntil is exp plus the clock skew, and the list adds the skew again before it drops an entry: the
            // entry outlives the token by one skew, which costs nothing.
            await revocations.RevokeAsync(accepted.Issuer, accepted.TokenId, accepted.ValidUntil, $"revoked by client {client.ClientId}", context.RequestAborted);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
    }
}
