using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Security;

/// <summary>
/// Authenticates every request to the tool endpoints (<c>/mcp</c>, <c>/ws</c>, <c>/v1</c>) before they reach a transport:
/// <list type="bullet">
/// <item>no bearer credentials → 401 with <c>WWW-Authenticate: Bearer resource_metadata="…"</c> and no error code;</item>
/// <item>malformed credentials (two Authorization headers, two tokens, illegal characters) → 400 <c>invalid_request</c>;</item>
/// <item>a token that is not acceptable for any reason → 401 <c>invalid_token</c>, the same response whatever the reason
/// (the reason goes to the log only, never the token);</item>
/// <item>any credentials from an address that failed too often this minute → 429 with <c>Retry-After</c>, before any
/// validation (<see cref="FailedAuthenticationLimiter"/>).</item>
/// </list>
/// Discovery endpoints, probes and metrics are not protected.
/// </summary>
internal sealed partial class AuthenticationMiddleware(
    RequestDelegate next,
    BearerAuthentication bearer,
    CredentialWatchdog watchdog,
    ResourceIdentity identity,
    IOptions<SecurityOptions> options,
    ILogger<AuthenticationMiddleware> logger)
{
    private static readonly string[] s_protectedPrefixes = ["/mcp", "/ws", "/v1"];

    public Task InvokeAsync(HttpContext context)
    {
        if (!options.Value.RequireAuthentication || !IsProtected(context.Request.Path))
        {
            return next(context);
        }

        return AuthenticateAsync(context);
    }

    internal static bool IsProtected(PathString path)
        => s_protectedPrefixes.Any(prefix => path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase));

    private async Task AuthenticateAsync(HttpContext context)
    {
        var check = await bearer.CheckAsync(context);
        switch (check.Kind)
        {
            case BearerCheckKind.Accepted:
                context.User = check.Principal!;
                if (check.Accepted is { } accepted)
                {
                    // A WebSocket, an SSE stream or a slow call can outlive its credentials: the watchdog ends it with
                    // them. The transport may set how (the feature's End).
                    using var watched = watchdog.Watch(context, accepted);
                    context.Features.Set(watched);
                    await next(context);
                    return;
                }

                await next(context);
                return;
            case BearerCheckKind.None:
                await ChallengeAsync(context, StatusCodes.Status401Unauthorized, error: null);
                return;
            case BearerCheckKind.Throttled:
                BearerAuthentication.SetThrottled(context.Response, check);
                await WriteBodyAsync(context, $"Too Many Requests: too many refused credentials from this address; retry in {check.RetryAfterSeconds} s.");
                return;
            case BearerCheckKind.Malformed:
                Log.Refused(logger, check.Detail!);
                await ChallengeAsync(context, StatusCodes.Status400BadRequest, "invalid_request");
                return;
            default:
                Log.Refused(logger, check.Detail!);
                await ChallengeAsync(context, StatusCodes.Status401Unauthorized, "invalid_token");
                return;
        }
    }

    private Task ChallengeAsync(HttpContext context, int status, string? error)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.WWWAuthenticate = Challenge(identity, error, scope: null);
        return WriteBodyAsync(context, status == StatusCodes.Status400BadRequest ? "Bad Request: malformed credentials." : "Unauthorized: a valid bearer token is required.");
    }

    /// <summary>The <c>WWW-Authenticate</c> value of a challenge (RFC 6750 §3, RFC 9728 §5.1).</summary>
    internal static string Challenge(ResourceIdentity identity, string? error, string? scope)
    {
        var parts = new List<string>();
        if (error is not null)
        {
            parts.Add($"error=\"{error}\"");
        }

        if (scope is not null)
        {
            parts.Add($"scope=\"{scope}\"");
        }

        parts.Add($"resource_metadata=\"{ProtectedResourceMetadataUri(identity)}\"");
        return "Bearer " + string.Join(", ", parts);
    }

    /// <summary>The path-suffixed metadata document of our resource (RFC 9728 §3.1).</summary>
    internal static string ProtectedResourceMetadataUri(ResourceIdentity identity)
    {
        var resource = new Uri(identity.Resource);
        return $"{resource.GetLeftPart(UriPartial.Authority)}{SecurityEndpoints.ProtectedResourceMetadataPath}{resource.AbsolutePath.TrimEnd('/')}";
    }

    /// <summary>REST callers get RFC 9457 problem details; MCP callers a JSON-RPC error with a null id.</summary>
    internal static async Task WriteBodyAsync(HttpContext context, string message)
    {
        var rest = context.Request.Path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase);
        context.Response.ContentType = rest ? "application/problem+json" : "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        if (rest)
        {
            writer.WriteString("type", $"https://httpstatuses.io/{context.Response.StatusCode}");
            writer.WriteString("title", context.Response.StatusCode switch { 400 => "Bad Request", 401 => "Unauthorized", 429 => "Too Many Requests", _ => "Forbidden" });
            writer.WriteNumber("status", context.Response.StatusCode);
            writer.WriteString("detail", message);
        }
        else
        {
            writer.WriteString("jsonrpc", "2.0");
            writer.WriteNull("id");
            writer.WriteStartObject("error");
            // The same codes the pipeline uses for these refusals (GatewayError), whichever layer refused.
            writer.WriteNumber("code", context.Response.StatusCode switch { StatusCodes.Status403Forbidden => -32003, StatusCodes.Status429TooManyRequests => -32000, _ => -32001 });
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, EventName = "AuthenticationRefused", Level = LogLevel.Information, Message = "Refused credentials: {Reason}")]
        public static partial void Refused(ILogger logger, string reason);
    }
}
