using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Plugins;

namespace Switchboard.Security;

/// <summary>
/// The OAuth discovery and issuing endpoints: our JWKS, the protected-resource metadata (RFC 9728, root and
/// path-suffixed), the authorization-server metadata of our issuer (RFC 8414), and the token endpoint
/// (<c>client_credentials</c>).
/// </summary>
internal static class SecurityEndpoints
{
    public const string JwksPath = "/.well-known/jwks.json";
    public const string ProtectedResourceMetadataPath = "/.well-known/oauth-protected-resource";
    public const string AuthorizationServerMetadataPath = "/.well-known/oauth-authorization-server";
    public const string TokenPath = "/oauth/token";

    public static void MapSecurityEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(JwksPath, static context =>
        {
            var ring = context.RequestServices.GetRequiredService<SigningKeyRing>();
            var maxAge = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.Keys.JwksMaxAge;
            context.Response.Headers.CacheControl = "public, max-age=" + ((long)maxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return WriteJsonAsync(context, ring.PublishedKeySet(), "application/jwk-set+json");
        });

        endpoints.MapGet(ProtectedResourceMetadataPath, ProtectedResourceMetadataAsync);
        endpoints.MapGet(ProtectedResourceMetadataPath + "/{**path}", ProtectedResourceMetadataAsync);
        endpoints.MapGet(AuthorizationServerMetadataPath, AuthorizationServerMetadataAsync);
        endpoints.MapPost(TokenPath, static context => context.RequestServices.GetRequiredService<TokenEndpoint>().HandleAsync(context));
        endpoints.MapPost(TokenRevocationEndpoint.Path, static context => context.RequestServices.GetRequiredService<TokenRevocationEndpoint>().HandleAsync(context));
    }

    private static Task ProtectedResourceMetadataAsync(HttpContext context)
    {
        var identity = context.RequestServices.GetRequiredService<ResourceIdentity>();
        var options = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var servers = new JsonArray(JsonValue.Create(identity.Issuer));
        foreach (var external in options.ExternalIssuers)
        {
            servers.Add((JsonNode?)JsonValue.Create(external.Issuer));
        }

        var document = new JsonObject
        {
            ["resource"] = identity.Resource,
            ["authorization_servers"] = servers,
            ["scopes_supported"] = ScopesSupported(context.RequestServices.GetRequiredService<ToolCatalog>().Current),
            ["bearer_methods_supported"] = new JsonArray(JsonValue.Create("header")),
            ["resource_name"] = "Switchboard",
        };
        context.Response.Headers.CacheControl = "public, max-age=300";
        return WriteJsonAsync(context, document, "application/json");
    }

    private static Task AuthorizationServerMetadataAsync(HttpContext context)
    {
        var identity = context.RequestServices.GetRequiredService<ResourceIdentity>();
        var document = new JsonObject
        {
            ["issuer"] = identity.Issuer,
            ["token_endpoint"] = identity.Issuer + TokenPath,
            ["jwks_uri"] = identity.Issuer + JwksPath,
            ["grant_types_supported"] = new JsonArray(JsonValue.Create("client_credentials")),
            ["token_endpoint_auth_methods_supported"] = new JsonArray(JsonValue.Create("client_secret_basic"), JsonValue.Create("client_secret_post")),
            ["revocation_endpoint"] = identity.Issuer + TokenRevocationEndpoint.Path,
            ["revocation_endpoint_auth_methods_supported"] = new JsonArray(JsonValue.Create("client_secret_basic"), JsonValue.Create("client_secret_post")),
            ["response_types_supported"] = new JsonArray(),
            ["scopes_supported"] = ScopesSupported(context.RequestServices.GetRequiredService<ToolCatalog>().Current),
        };
        context.Response.Headers.CacheControl = "public, max-age=300";
        return WriteJsonAsync(context, document, "application/json");
    }

    /// <summary>Per-plugin and per-tool scopes; never the omnibus <c>tools:*</c> (scope minimisation).</summary>
    private static JsonArray ScopesSupported(CatalogSnapshot catalog)
    {
        var scopes = new JsonArray();
        foreach (var plugin in catalog.Plugins)
        {
            scopes.Add((JsonNode?)JsonValue.Create($"{ToolScopes.Prefix}{plugin.Name}/*"));
        }

        foreach (var tool in catalog.Tools)
        {
            scopes.Add((JsonNode?)JsonValue.Create(ToolScopes.For(tool)));
        }

        return scopes;
    }

    internal static async Task WriteJsonAsync(HttpContext context, JsonNode document, string contentType)
    {
        context.Response.ContentType = contentType;
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        document.WriteTo(writer);
        await writer.FlushAsync(context.RequestAborted);
    }
}

/// <summary>
/// The OAuth 2.0 token endpoint for the <c>client_credentials</c> grant (RFC 6749 §4.4), with RFC 8707 <c>resource</c>.
/// Clients authenticate with HTTP Basic or form parameters (not both); the scopes asked for must be covered by the
/// client's registration. Errors follow RFC 6749 §5.2.
/// </summary>
internal sealed class TokenEndpoint(OAuthClientStore clients, AccessTokenIssuer issuer, ResourceIdentity identity, TokenRequestLimiter limiter)
{
    public async Task HandleAsync(HttpContext context)
    {
        context.Response.Headers.Pragma = "no-cache";
        if (await ReadLimitedFormAsync(context, limiter) is not { } form)
        {
            return;
        }

        if (form["grant_type"] is not { Count: 1 } grant || grant[0] != "client_credentials")
        {
            await ErrorAsync(context, 400, "unsupported_grant_type", "Only client_credentials is supported.");
            return;
        }

        if (await AuthenticateClientAsync(context, form, clients) is not { } client)
        {
            return;
        }

        if (form["resource"] is { Count: > 0 } resources && resources.Any(r => !string.Equals(ResourceIdentity.Normalize(r ?? string.Empty), identity.Resource, StringComparison.Ordinal)))
        {
            await ErrorAsync(context, 400, "invalid_target", "This server issues tokens only for its own resource.");
            return;
        }

        var allowed = ToolScopes.Split(client.AllowedScopes).ToList();
        var requested = form["scope"] is { Count: 1 } scope ? ToolScopes.Split(scope[0]).ToList() : allowed;
        if (requested.Count == 0 || requested.Any(s => !Covers(allowed, s)))
        {
            await ErrorAsync(context, 400, "invalid_scope", "The requested scope is not allowed for this client.");
            return;
        }

        var token = issuer.Issue(new TokenRequest(client.ClientId, client.ClientId, string.Join(' ', requested), Tenant: client.Tenant, Roles: client.Roles));
        var response = new JsonObject
        {
            ["access_token"] = token.AccessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = (long)Math.Max(0, (token.ExpiresAt - TimeProviderNow(context)).TotalSeconds),
            ["scope"] = token.Scope,
        };
        await SecurityEndpoints.WriteJsonAsync(context, response, "application/json");
    }

    /// <summary>
    /// The start every client-authenticated endpoint shares: <c>no-store</c>, the per-address request limit (429) and a
    /// form body (400). Null when an error was written.
    /// </summary>
    internal static async Task<IFormCollection?> ReadLimitedFormAsync(HttpContext context, TokenRequestLimiter limiter)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!limiter.TryAcquire(context.Connection.RemoteIpAddress, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await ErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", $"Too many token requests from this address; retry in {seconds} s.");
            return null;
        }

        if (!context.Request.HasFormContentType)
        {
            await ErrorAsync(context, 400, "invalid_request", "Send an application/x-www-form-urlencoded body.");
            return null;
        }

        return await context.Request.ReadFormAsync(context.RequestAborted);
    }

    /// <summary>
    /// Authenticates the client with HTTP Basic or form parameters (not both: 400); wrong or missing credentials get 401
    /// <c>invalid_client</c>. Null when an error was written.
    /// </summary>
    internal static async Task<OAuthClient?> AuthenticateClientAsync(HttpContext context, IFormCollection form, OAuthClientStore clients)
    {
        if (!TryReadClient(context.Request, form, out var clientId, out var secret, out var usedBasic))
        {
            await ErrorAsync(context, 400, "invalid_request", "Authenticate the client with HTTP Basic or with client_id and client_secret, not both.");
            return null;
        }

        var client = clientId is null || secret is null ? null : await clients.AuthenticateAsync(clientId, secret, context.RequestAborted);
        if (client is null)
        {
            if (usedBasic)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"switchboard\"";
            }

            await ErrorAsync(context, 401, "invalid_client", "Client authentication failed.");
        }

        return client;
    }

    private static DateTimeOffset TimeProviderNow(HttpContext context) => context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();

    /// <summary>A requested scope is covered when it was registered, or falls under a registered tool pattern.</summary>
    private static bool Covers(List<string> allowed, string requested)
    {
        if (allowed.Contains(requested, StringComparer.Ordinal))
        {
            return true;
        }

        if (!ToolScopes.TryParse(requested, out var wanted))
        {
            return false;
        }

        foreach (var scope in allowed)
        {
            if (ToolScopes.TryParse(scope, out var pattern)
                && (pattern.Plugin == "*" || (pattern.Plugin == wanted.Plugin && (pattern.Tool == "*" || pattern.Tool == wanted.Tool))))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryReadClient(HttpRequest request, IFormCollection form, out string? clientId, out string? secret, out bool usedBasic)
    {
        clientId = null;
        secret = null;
        usedBasic = false;
        var inForm = form.ContainsKey("client_secret");
        var header = request.Headers.Authorization;
        if (header.Count == 1 && header[0]!.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (inForm)
            {
                return false;
            }

            usedBasic = true;
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[0]!["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    return true;
                }

                clientId = Uri.UnescapeDataString(decoded[..colon]);
                secret = Uri.UnescapeDataString(decoded[(colon + 1)..]);
            }
            catch (FormatException)
            {
                // Leave both null: authentication fails like any wrong secret.
            }

            return true;
        }

        if (header.Count > 0)
        {
            return false;
        }

        clientId = form["client_id"] is { Count: 1 } id ? id[0] : null;
        secret = form["client_secret"] is { Count: 1 } s ? s[0] : null;
        return true;
    }

    internal static Task ErrorAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        return SecurityEndpoints.WriteJsonAsync(context, new JsonObject { ["error"] = error, ["error_description"] = description }, "application/json");
    }
}
