using System.Buffers.Text;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>Why a presented token was not accepted. Only the category reaches the caller; the detail is for logs and audit.</summary>
public enum TokenRejection
{
    None,

    /// <summary>The request carried no usable credentials (401 without an error code).</summary>
    Missing,

    /// <summary>The credentials were not a well-formed bearer token request (400).</summary>
    Malformed,

    /// <summary>A token was presented and is not acceptable (401 invalid_token, same body for every reason).</summary>
    Invalid,
}

/// <summary>The result of validating an access token.</summary>
public readonly record struct TokenValidationOutcome(ClaimsPrincipal? Principal, TokenRejection Rejection, string Detail)
{
    /// <summary>What was accepted (issuer, <c>jti</c>, the verifying key, until when), for connections that outlive the request.</summary>
    internal CachedToken? Accepted { get; init; }

    public static TokenValidationOutcome Reject(TokenRejection rejection, string detail) => new(null, rejection, detail);
}

/// <summary>
/// Validates RFC 9068 access tokens strictly, with Microsoft.IdentityModel for the signature and time checks and its
/// unsafe defaults closed: a strict structural check first (three base64url segments, no padding or whitespace, JSON
/// objects without duplicate names, size limit), then the header (allow-listed <c>alg</c>, <c>typ</c> of <c>at+jwt</c>,
/// a well-formed <c>kid</c>; <c>jku</c>, <c>x5u</c>, <c>jwk</c>, <c>x5c</c>, <c>crit</c>, <c>zip</c>, <c>cty</c> refused
/// and never followed), then exactly one key — the <c>kid</c> in our ring or in the claimed issuer's JWKS, with the
/// algorithm it is pinned to — then <c>iss</c> and <c>aud</c> by exact match, <c>exp</c>/<c>nbf</c>/<c>iat</c> with a
/// small skew and a maximum lifetime, and the RFC 9068 required claims.
/// </summary>
public sealed partial class AccessTokenValidator(
    SigningKeyRing ring,
    ExternalIssuerKeys externalIssuers,
    ResourceIdentity identity,
    TokenRevocationList revocations,
    IOptions<SecurityOptions> options,
    TimeProvider timeProvider)
{
    private static readonly string[] s_types = ["at+jwt", "application/at+jwt"];
    private static readonly string[] s_forbiddenHeaders = ["jku", "x5u", "jwk", "x5c", "crit", "zip", "cty", "enc", "b64", "epk", "p2s", "p2c"];
    private static readonly JsonDocumentOptions s_strictJson = new() { AllowDuplicateProperties = false, MaxDepth = 16, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };
    private static readonly JsonWebTokenHandler s_handler = new() { MapInboundClaims = false, MaximumTokenSizeInBytes = 64 * 1024 };

    private readonly ValidatedTokenCache cache = new(options.Value.ValidatedTokenCacheSize);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex KidPattern();

    public async ValueTask<TokenValidationOutcome> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (Encoding.UTF8.GetByteCount(token) > settings.MaxTokenBytes)
        {
            return TokenValidationOutcome.Reject(TokenRejection.Invalid, "token too large");
        }

        if (!cache.Enabled)
        {
            return await ValidateFullyAsync(token, cacheKey: null, cancellationToken);
        }

        var cacheKey = ValidatedTokenCache.KeyFor(token);
        if (cache.TryGet(cacheKey, out var cached))
        {
            if (await IsStillAcceptedAsync(cached, cancellationToken))
            {
                return new TokenValidationOutcome(cached.Principal, TokenRejection.None, string.Empty) { Accepted = cached };
            }

            cache.Remove(cacheKey);
        }

        return await ValidateFullyAsync(token, cacheKey, cancellationToken);
    }

    /// <summary>
    /// Whether a token accepted earlier would still be accepted now: unexpired, not revoked, and its <c>kid</c> still
    /// resolving to the very key that verified it (so revoking, retiring or an issuer dropping the key ends it). Used
    /// for cached tokens and by connections that live longer than the request that opened them.
    /// </summary>
    internal async ValueTask<bool> IsStillAcceptedAsync(CachedToken accepted, CancellationToken cancellationToken)
    {
        if (timeProvider.GetUtcNow() >= accepted.ValidUntil || revocations.IsRevoked(accepted.Issuer, accepted.TokenId))
        {
            return false;
        }

        var (key, _, _) = await ResolveKeyAsync(accepted.Issuer, accepted.Kid, cancellationToken);
        return key is not null && IsSameKey(key, accepted.Key);
    }

    /// <summary>
    /// The same key material: usually the very object, but a ring or JWKS refresh (another replica scheduling the next
    /// key bumps the ring's version) builds new key objects for unchanged keys, and a connection must not end for that.
    /// </summary>
    private static bool IsSameKey(SecurityKey current, SecurityKey accepted)
        => ReferenceEquals(current, accepted)
            || (string.Equals(current.KeyId, accepted.KeyId, StringComparison.Ordinal)
                && current.CanComputeJwkThumbprint()
                && accepted.CanComputeJwkThumbprint()
                && current.ComputeJwkThumbprint().AsSpan().SequenceEqual(accepted.ComputeJwkThumbprint()));

    private async ValueTask<TokenValidationOutcome> ValidateFullyAsync(string token, string? cacheKey, CancellationToken cancellationToken)
    {
        var settings = options.Value;

        if (!TrySplit(token, out var headerJson, out var payloadJson, out var structureProblem))
        {
            return TokenValidationOutcome.Reject(TokenRejection.Invalid, structureProblem);
        }

        using (headerJson)
        using (payloadJson)
        {
            var header = headerJson.RootElement;
            var payload = payloadJson.RootElement;
            if (CheckHeader(header) is { } headerProblem)
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, headerProblem);
            }

            if (CheckClaims(payload, settings) is { } claimProblem)
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, claimProblem);
            }

            // IdentityModel does not look at iat: a token "issued" in the future is refused here.
            var issuedAt = DateTimeOffset.UnixEpoch.AddSeconds(payload.GetProperty("iat").GetDouble());
            if (issuedAt > timeProvider.GetUtcNow() + settings.ClockSkew)
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, "iat in the future");
            }

            var alg = header.GetProperty("alg").GetString()!;
            var kid = header.GetProperty("kid").GetString()!;
            var issuer = payload.GetProperty("iss").GetString()!;
            var tokenId = payload.GetProperty("jti").GetString()!;
            if (revocations.IsRevoked(issuer, tokenId))
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, "token revoked");
            }

            var (key, keyAlgorithm, keyProblem) = await ResolveKeyAsync(issuer, kid, cancellationToken);
            if (key is null)
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, keyProblem);
            }

            if (!string.Equals(alg, keyAlgorithm, StringComparison.Ordinal))
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, $"alg {alg} does not match the key's algorithm");
            }

            var parameters = new TokenValidationParameters
            {
                IssuerSigningKey = key,
                TryAllIssuerSigningKeys = false,
                ValidAlgorithms = [keyAlgorithm],
                ValidIssuer = issuer,
                ValidateIssuer = true,
                ValidAudience = identity.Resource,
                ValidateAudience = true,
                IgnoreTrailingSlashWhenValidatingAudience = false,
                RequireAudience = true,
                ValidTypes = s_types,

                // typ is a media type, compared case-insensitively (RFC 7515 §4.1.9), as CheckHeader does. IdentityModel
                // compares ValidTypes ordinally, which refused "AT+JWT" after our own check had accepted it (JWT-E11).
                TypeValidator = static (type, _, _) => s_types.Contains(type, StringComparer.OrdinalIgnoreCase)
                    ? type
                    : throw new SecurityTokenInvalidTypeException("typ is not at+jwt"),
                RequireSignedTokens = true,
                RequireExpirationTime = true,
                ValidateLifetime = true,
                LifetimeValidator = (notBefore, expires, _, _) => LifetimeIsValid(notBefore, expires, settings.ClockSkew),
                ValidateIssuerSigningKey = false,
                ValidateTokenReplay = false,
                SaveSigninToken = false,
            };

            var result = await s_handler.ValidateTokenAsync(token, parameters);
            if (!result.IsValid)
            {
                return TokenValidationOutcome.Reject(TokenRejection.Invalid, "signature or claims rejected: " + result.Exception?.GetType().Name);
            }

            var principal = BuildPrincipal(payload, settings);
            var validUntil = DateTimeOffset.UnixEpoch.AddSeconds(payload.GetProperty("exp").GetDouble()) + settings.ClockSkew;
            var accepted = new CachedToken(principal, issuer, tokenId, kid, key, validUntil);
            if (cacheKey is not null)
            {
                cache.Add(cacheKey, accepted, timeProvider.GetUtcNow());
            }

            return new TokenValidationOutcome(principal, TokenRejection.None, string.Empty) { Accepted = accepted };
        }
    }

    private async ValueTask<(SecurityKey? Key, string Algorithm, string Problem)> ResolveKeyAsync(string issuer, string kid, CancellationToken cancellationToken)
    {
        if (string.Equals(issuer, identity.Issuer, StringComparison.Ordinal))
        {
            if (ring.TryGetValidationKey(kid, out var key, out var algorithm))
            {
                return (key, algorithm, string.Empty);
            }

            // Maybe another replica (or the CLI) created it a moment ago: one throttled reload, then decide.
            // Looked up again even when this caller did not reload: a reload it waited for may have brought the key.
            await ring.TryRefreshForUnknownKidAsync(TimeSpan.FromSeconds(5), cancellationToken);
            if (ring.TryGetValidationKey(kid, out key, out algorithm))
            {
                return (key, algorithm, string.Empty);
            }

            return (null, string.Empty, "kid not in the ring, or not active or retiring");
        }

        if (externalIssuers.IsConfigured(issuer))
        {
            var found = await externalIssuers.TryGetKeyAsync(issuer, kid, cancellationToken);
            return found is { } pair ? (pair.Key, pair.Algorithm, string.Empty) : (null, string.Empty, "kid not in the issuer's JWKS");
        }

        return (null, string.Empty, "unknown issuer");
    }

    private bool LifetimeIsValid(DateTime? notBefore, DateTime? expires, TimeSpan skew)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        if (expires is null || now >= expires.Value + skew)
        {
            return false;
        }

        return notBefore is null || now + skew >= notBefore.Value;
    }

    /// <summary>Three non-empty base64url segments (no padding, no whitespace) whose first two are UTF-8 JSON objects without duplicate names.</summary>
    private static bool TrySplit(string token, out JsonDocument header, out JsonDocument payload, out string problem)
    {
        header = null!;
        payload = null!;
        problem = string.Empty;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            problem = "not three non-empty segments";
            return false;
        }

        if (!parts.All(IsBase64Url))
        {
            problem = "segment is not base64url";
            return false;
        }

        if (!TryParseObject(parts[0], out header))
        {
            problem = "header is not a strict JSON object";
            return false;
        }

        if (!TryParseObject(parts[1], out payload))
        {
            header.Dispose();
            problem = "payload is not a strict JSON object";
            return false;
        }

        return true;
    }

    private static readonly System.Buffers.SearchValues<char> s_base64Url = System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static bool IsBase64Url(string segment)
        => segment.AsSpan().IndexOfAnyExcept(s_base64Url) < 0 && segment.Length % 4 != 1;

    private static bool TryParseObject(string segment, out JsonDocument document)
    {
        document = null!;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(segment);
        }
        catch (FormatException)
        {
            return false;
        }

        // No byte-order mark, and valid UTF-8 throughout. JsonDocument.Parse does not check the bytes inside strings (they
        // are transcoded, and throw, only when read), so an overlong or surrogate sequence in a claim used to escape as an
        // exception (HTTP 500) instead of a refusal (attack suite JWT-A11).
        if ((bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) || !System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }

        try
        {
            document = JsonDocument.Parse(bytes, s_strictJson);
        }
        catch (JsonException)
        {
            return false;
        }

        // An escape can still spell a lone surrogate ("\ud800") that no string can hold; refuse it here, not when read.
        if (document.RootElement.ValueKind != JsonValueKind.Object || !HasOnlyWellFormedStrings(document.RootElement))
        {
            document.Dispose();
            return false;
        }

        return true;
    }

    /// <summary>True when every property name and string value transcodes to UTF-16 (depth is bounded by the parser).</summary>
    private static bool HasOnlyWellFormedStrings(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name is null || !HasOnlyWellFormedStrings(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!HasOnlyWellFormedStrings(item))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.String:
                    return element.GetString() is not null;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string? CheckHeader(JsonElement header)
    {
        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String
            || alg.GetString() is not (SigningKeyMaterial.ES256 or SigningKeyMaterial.RS256))
        {
            return "alg not allowed";
        }

        if (!header.TryGetProperty("typ", out var typ) || typ.ValueKind != JsonValueKind.String
            || !s_types.Contains(typ.GetString(), StringComparer.OrdinalIgnoreCase))
        {
            return "typ is not at+jwt";
        }

        if (!header.TryGetProperty("kid", out var kid) || kid.ValueKind != JsonValueKind.String || !KidPattern().IsMatch(kid.GetString()!))
        {
            return "kid missing or malformed";
        }

        foreach (var name in s_forbiddenHeaders)
        {
            if (header.TryGetProperty(name, out _))
            {
                return $"header {name} is not accepted";
            }
        }

        return null;
    }

    private static string? CheckClaims(JsonElement payload, SecurityOptions settings)
    {
        if (!IsNonEmptyString(payload, "iss") || !IsNonEmptyString(payload, "jti") || !IsNonEmptyString(payload, "client_id"))
        {
            return "iss, jti or client_id missing";
        }

        if (!payload.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || !IsCleanIdentifier(sub.GetString()!))
        {
            return "sub missing or malformed";
        }

        if (!payload.TryGetProperty("aud", out var aud) || !(aud.ValueKind == JsonValueKind.String
            || (aud.ValueKind == JsonValueKind.Array && aud.GetArrayLength() > 0 && aud.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String))))
        {
            return "aud missing or malformed";
        }

        if (!TryNumericDate(payload, "exp", out var exp) || !TryNumericDate(payload, "iat", out var iat))
        {
            return "exp or iat missing or not a NumericDate";
        }

        if (payload.TryGetProperty("nbf", out _) && !TryNumericDate(payload, "nbf", out _))
        {
            return "nbf not a NumericDate";
        }

        if (exp - iat > settings.MaxTokenLifetime.TotalSeconds)
        {
            return "lifetime longer than allowed";
        }

        if (payload.TryGetProperty("scope", out var scope) && scope.ValueKind != JsonValueKind.String)
        {
            return "scope is not a string";
        }

        if (payload.TryGetProperty(settings.TenantClaim, out var tenant) && (tenant.ValueKind != JsonValueKind.String || !IsCleanIdentifier(tenant.GetString()!)))
        {
            return "tenant malformed";
        }

        if (payload.TryGetProperty(settings.RolesClaim, out var roles)
            && roles.ValueKind != JsonValueKind.String
            && !(roles.ValueKind == JsonValueKind.Array && roles.EnumerateArray().All(r => r.ValueKind == JsonValueKind.String)))
        {
            return "roles malformed";
        }

        return null;
    }

    private static bool IsNonEmptyString(JsonElement payload, string name)
        => payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length is > 0 and <= 512;

    private static bool IsCleanIdentifier(string value)
        => value.Length is > 0 and <= 256 && !string.IsNullOrWhiteSpace(value) && !value.Any(char.IsControl);

    private static bool TryNumericDate(JsonElement payload, string name, out double seconds)
    {
        seconds = 0;
        return payload.TryGetProperty(name, out var value)
            && value.ValueKind == JsonValueKind.Number
            && value.TryGetDouble(out seconds)
            && double.IsFinite(seconds)
            && seconds is >= 0 and <= 253402300799; // 9999-12-31T23:59:59Z: beyond that DateTime overflows
    }

    private static ClaimsPrincipal BuildPrincipal(JsonElement payload, SecurityOptions settings)
    {
        var claims = new List<Claim>
        {
            new(SwitchboardClaims.Subject, payload.GetProperty("sub").GetString()!),
            new(SwitchboardClaims.ClientId, payload.GetProperty("client_id").GetString()!),
            new(SwitchboardClaims.Issuer, payload.GetProperty("iss").GetString()!),
            new(SwitchboardClaims.TokenId, payload.GetProperty("jti").GetString()!),
            // When the credentials stop being accepted: exp plus the skew this validator allows. A WebSocket opened with a
            // token inside that window used to be closed the moment it opened (its close timer was set for exp) although
            // the same token was still accepted on every request (JWT-D02 on /ws).
            new(SwitchboardClaims.Expires, ((long)payload.GetProperty("exp").GetDouble() + (long)settings.ClockSkew.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (payload.TryGetProperty("scope", out var scope))
        {
            claims.Add(new Claim(SwitchboardClaims.Scope, scope.GetString()!));
        }

        if (payload.TryGetProperty(settings.TenantClaim, out var tenant))
        {
            claims.Add(new Claim(SwitchboardClaims.Tenant, tenant.GetString()!));
        }

        if (payload.TryGetProperty(settings.RolesClaim, out var roles))
        {
            foreach (var role in roles.ValueKind == JsonValueKind.Array ? roles.EnumerateArray().Select(r => r.GetString()!) : [roles.GetString()!])
            {
                claims.Add(new Claim(SwitchboardClaims.Role, role));
            }
        }

        var identityObject = new ClaimsIdentity(claims, "Bearer", SwitchboardClaims.Subject, SwitchboardClaims.Role);
        return new ClaimsPrincipal(identityObject);
    }
}
