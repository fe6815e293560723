namespace Switchboard.Security;

/// <summary>Authentication, token issuing and authorization settings, bound from <c>Switchboard:Security</c>.</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Switchboard:Security";

    /// <summary>
    /// When false (<c>serve --no-auth</c>), requests are not authenticated and every caller may call every tool. Refused
    /// unless every listen address is loopback.
    /// </summary>
    public bool RequireAuthentication { get; set; } = true;

    /// <summary>
    /// This server's canonical resource URI: the audience every accepted token must carry (RFC 8707). Defaults to the
    /// first listen address plus <c>/mcp</c>. Set it to the public URL behind a proxy.
    /// </summary>
    public string? Resource { get; set; }

    /// <summary>The issuer identifier of tokens this server mints. Defaults to the first listen address.</summary>
    public string? Issuer { get; set; }

    /// <summary>Longest accepted token lifetime (<c>exp - iat</c>), for our tokens and external ones.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Lifetime of tokens this server issues unless asked otherwise.</summary>
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Allowed clock difference with an issuer; at most 60 seconds.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted token, in bytes. Larger tokens are refused before any parsing.</summary>
    public int MaxTokenBytes { get; set; } = 8192;

    /// <summary>The claim that names a caller's tenant. Callers of different tenants never see each other's tools or state.</summary>
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>The claim that lists a caller's roles (string or array), used by policy grants.</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>
    /// Requests one client address may make to <c>/oauth/token</c> per minute (0 = no limit). Further requests get
    /// <c>429</c> with <c>Retry-After</c>. Behind a proxy every caller shares the proxy's address, so raise it there.
    /// </summary>
    public int TokenRequestsPerMinute { get; set; } = 60;

    /// <summary>
    /// Refused credentials (malformed, forged, expired, wrong audience…) one client address may present to the tool
    /// endpoints per minute (0 = no limit). Past it, every credential from that address gets <c>429</c> with
    /// <c>Retry-After</c> until the minute is over. Behind a proxy every caller shares the proxy's address, so raise it
    /// there.
    /// </summary>
    public int FailedAuthenticationsPerMinute { get; set; } = 30;

    /// <summary>
    /// How many validated tokens are remembered so repeat presentations skip the signature check (0 = off). A cached
    /// token is still refused once expired or once its key is revoked, retired or gone from its issuer's JWKS.
    /// </summary>
    public int ValidatedTokenCacheSize { get; set; } = 10_000;

    public SigningKeyOptions Keys { get; set; } = new();

    /// <summary>Other OAuth/OIDC issuers whose access tokens are accepted (through their JWKS).</summary>
    public List<ExternalIssuerOptions> ExternalIssuers { get; set; } = [];

    /// <summary>The principal of <c>switchboard stdio</c> (the local user who started it).</summary>
    public LocalPrincipalOptions StdioPrincipal { get; set; } = new();

    /// <summary>Grants beyond plain tool scopes: scopes or roles with argument rules.</summary>
    public PolicyOptions Policy { get; set; } = new();
}

/// <summary>The signing-key ring and its rotation schedule.</summary>
public sealed class SigningKeyOptions
{
    /// <summary><c>ES256</c> (default) or <c>RS256</c>.</summary>
    public string Algorithm { get; set; } = "ES256";

    /// <summary>How long a key signs before the next one takes over.</summary>
    public TimeSpan RotationPeriod { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The <c>Cache-Control: max-age</c> of the JWKS document. A new key is published at least this long (plus
    /// <see cref="PublicationMargin"/>) before it signs, so verifiers that cache the JWKS already know it.
    /// </summary>
    public TimeSpan JwksMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Extra time on top of the JWKS cache lifetime, for propagation.</summary>
    public TimeSpan PublicationMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Base64 of a 32-byte key that encrypts private keys at rest (AES-256-GCM). Use <c>{env:NAME}</c> or
    /// <c>{file:/path}</c> to keep it out of the configuration file. When empty, a key file is created in the data
    /// folder on first start (protects database copies and backups, not a stolen data folder).
    /// </summary>
    public string? EncryptionKey { get; set; }

    /// <summary>How often the ring checks whether it is time to rotate.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>An external issuer whose access tokens are accepted.</summary>
public sealed class ExternalIssuerOptions
{
    /// <summary>The exact <c>iss</c> value.</summary>
    public string Issuer { get; set; } = string.Empty;

    /// <summary>Where the issuer publishes its keys (https, or http on loopback for tests).</summary>
    public string JwksUri { get; set; } = string.Empty;

    /// <summary>Algorithms accepted from this issuer; each key is pinned to the algorithm its JWK names.</summary>
    public List<string> Algorithms { get; set; } = ["RS256", "ES256"];

    /// <summary>How long fetched keys are used before they are fetched again.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The shortest time between two fetches; an unknown <c>kid</c> triggers at most one fetch per interval.</summary>
    public TimeSpan MinimumRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>A principal configured locally (no token), for stdio.</summary>
public sealed class LocalPrincipalOptions
{
    public string Subject { get; set; } = "local-user";

    public string Scopes { get; set; } = "tools:*";

    public string? Tenant { get; set; }

    public List<string> Roles { get; set; } = [];
}

/// <summary>Grants with conditions, in addition to plain tool scopes.</summary>
public sealed class PolicyOptions
{
    public List<GrantOptions> Grants { get; set; } = [];
}

/// <summary>
/// One grant: callers holding <see cref="Scope"/> (or having <see cref="Role"/>) may call <see cref="Tools"/>, when every
/// rule in <see cref="When"/> holds for the call's arguments.
/// </summary>
public sealed class GrantOptions
{
    public string? Scope { get; set; }

    public string? Role { get; set; }

    /// <summary>Tool patterns: <c>plugin/tool</c>, <c>plugin/*</c> or <c>*</c>.</summary>
    public List<string> Tools { get; set; } = [];

    /// <summary>Argument rules, all of which must hold, such as <c>amount &lt;= 100</c> or <c>currency in ["EUR", "USD"]</c>.</summary>
    public List<string> When { get; set; } = [];
}
