namespace Switchboard.Security;

/// <summary>Claim types on an authenticated caller, the same whatever authenticated it (token, local principal).</summary>
public static class SwitchboardClaims
{
    public const string Subject = "sub";
    public const string ClientId = "client_id";
    public const string Issuer = "iss";
    public const string TokenId = "jti";
    public const string Scope = "scope";
    public const string Tenant = "tenant";
    public const string Role = "role";

    /// <summary>
    /// When the credentials stop being accepted (Unix seconds; for a token, its <c>exp</c> plus the allowed clock skew), so
    /// long-lived connections end exactly when a new request with the same credentials would be refused.
    /// </summary>
    public const string Expires = "exp";
}
