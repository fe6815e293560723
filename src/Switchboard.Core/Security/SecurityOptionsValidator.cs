using System.Net;
using Microsoft.Extensions.Options;

namespace Switchboard.Security;

/// <summary>Checks <see cref="SecurityOptions"/> at start (the policy is checked by <see cref="PolicyProvider"/>).</summary>
internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string section = "Switchboard:Security";

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromSeconds(60))
        {
            failures.Add($"{section}:ClockSkew must be between 0 and 60 seconds.");
        }

        if (options.MaxTokenLifetime <= TimeSpan.Zero || options.MaxTokenLifetime > TimeSpan.FromDays(1))
        {
            failures.Add($"{section}:MaxTokenLifetime must be positive and at most one day.");
        }

        if (options.DefaultTokenLifetime <= TimeSpan.Zero || options.DefaultTokenLifetime > options.MaxTokenLifetime)
        {
            failures.Add($"{section}:DefaultTokenLifetime must be positive and at most MaxTokenLifetime.");
        }

        if (options.TokenRequestsPerMinute is < 0 or > 1_000_000)
        {
            failures.Add($"{section}:TokenRequestsPerMinute must be between 0 (no limit) and 1000000.");
        }

        if (options.FailedAuthenticationsPerMinute is < 0 or > 1_000_000)
        {
            failures.Add($"{section}:FailedAuthenticationsPerMinute must be between 0 (no limit) and 1000000.");
        }

        if (options.ValidatedTokenCacheSize is < 0 or > 10_000_000)
        {
            failures.Add($"{section}:ValidatedTokenCacheSize must be between 0 (off) and 10000000.");
        }

        if (options.MaxTokenBytes is < 512 or > 64 * 1024)
        {
            failures.Add($"{section}:MaxTokenBytes must be between 512 and 65536.");
        }

        foreach (var (setting, value) in new[] { ("Resource", options.Resource), ("Issuer", options.Issuer) })
        {
            if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)))
            {
                failures.Add($"{section}:{setting} must be an absolute http(s) URI without query or fragment.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.TenantClaim) || string.IsNullOrWhiteSpace(options.RolesClaim))
        {
            failures.Add($"{section}:TenantClaim and RolesClaim must name claims.");
        }

        var keys = options.Keys;
        if (keys.Algorithm is not (SigningKeyMaterial.ES256 or SigningKeyMaterial.RS256))
        {
            failures.Add($"{section}:Keys:Algorithm must be ES256 or RS256.");
        }

        if (keys.JwksMaxAge < TimeSpan.Zero || keys.PublicationMargin < TimeSpan.Zero)
        {
            failures.Add($"{section}:Keys:JwksMaxAge and PublicationMargin must not be negative.");
        }

        if (keys.CheckInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{section}:Keys:CheckInterval must be at least one second.");
        }

        // Rotating faster than a key can be published and then retired would keep more than three keys alive.
        var lead = keys.JwksMaxAge + keys.PublicationMargin;
        if (keys.RotationPeriod < lead + options.MaxTokenLifetime + options.ClockSkew)
        {
            failures.Add($"{section}:Keys:RotationPeriod must be at least JwksMaxAge + PublicationMargin + MaxTokenLifetime + ClockSkew ({lead + options.MaxTokenLifetime + options.ClockSkew}).");
        }

        for (var i = 0; i < options.ExternalIssuers.Count; i++)
        {
            var issuer = options.ExternalIssuers[i];
            var where = $"{section}:ExternalIssuers:{i}";
            if (string.IsNullOrWhiteSpace(issuer.Issuer))
            {
                failures.Add($"{where}:Issuer must be set.");
            }

            if (!Uri.TryCreate(issuer.JwksUri, UriKind.Absolute, out var jwks)
                || !(jwks.Scheme == Uri.UriSchemeHttps || (jwks.Scheme == Uri.UriSchemeHttp && IsLoopback(jwks.Host))))
            {
                failures.Add($"{where}:JwksUri must be an https URI (http only for loopback addresses).");
            }

            if (issuer.Algorithms.Count == 0 || issuer.Algorithms.Any(a => a is not (SigningKeyMaterial.ES256 or SigningKeyMaterial.RS256)))
            {
                failures.Add($"{where}:Algorithms must list ES256 and/or RS256.");
            }

            if (issuer.MinimumRefreshInterval < TimeSpan.FromSeconds(1) || issuer.RefreshInterval < issuer.MinimumRefreshInterval)
            {
                failures.Add($"{where}: MinimumRefreshInterval must be at least 1 second and RefreshInterval at least that.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.StdioPrincipal.Subject))
        {
            failures.Add($"{section}:StdioPrincipal:Subject must be set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsLoopback(string host)
        => string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
