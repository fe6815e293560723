using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>What a token is for.</summary>
public sealed record TokenRequest(string Subject, string ClientId, string Scope, TimeSpan? Lifetime = null, string? Tenant = null, IReadOnlyList<string>? Roles = null);

/// <summary>A token just issued.</summary>
public sealed record IssuedToken(string AccessToken, DateTimeOffset ExpiresAt, string Scope);

/// <summary>
/// Issues RFC 9068 access tokens (<c>typ: at+jwt</c>; <c>iss</c>, <c>aud</c> = this server's resource, <c>sub</c>,
/// <c>client_id</c>, <c>scope</c>, <c>jti</c>, <c>iat</c>, <c>nbf</c>, <c>exp</c>) signed by the ring's active key.
/// </summary>
public sealed class AccessTokenIssuer(SigningKeyRing ring, ResourceIdentity identity, IOptions<SecurityOptions> options, TimeProvider timeProvider)
{
    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };

    public IssuedToken Issue(TokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.Value;
        var lifetime = request.Lifetime ?? settings.DefaultTokenLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > settings.MaxTokenLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"The lifetime must be positive and at most {settings.MaxTokenLifetime}.");
        }

        var credentials = ring.GetSigningCredentials()
            ?? throw new InvalidOperationException("The signing-key ring has no active key yet.");
        var now = timeProvider.GetUtcNow();

        // Whole seconds: NumericDate consumers may not expect fractions.
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var expires = issuedAt + lifetime;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [SwitchboardClaims.Subject] = request.Subject,
            [SwitchboardClaims.ClientId] = request.ClientId,
            [SwitchboardClaims.TokenId] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            [SwitchboardClaims.Scope] = request.Scope,
        };
        if (request.Tenant is not null)
        {
            claims[settings.TenantClaim] = request.Tenant;
        }

        if (request.Roles is { Count: > 0 } roles)
        {
            claims[settings.RolesClaim] = roles.ToArray();
        }

        var token = s_handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = identity.Issuer,
            Audience = identity.Resource,
            IssuedAt = issuedAt.UtcDateTime,
            NotBefore = issuedAt.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = "at+jwt",
            SigningCredentials = credentials,
            Claims = claims,
        });
        return new IssuedToken(token, expires, request.Scope);
    }
}
