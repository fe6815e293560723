using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Security;

/// <summary>What <see cref="BearerAuthentication.CheckAsync"/> found.</summary>
internal enum BearerCheckKind
{
    /// <summary>No credentials at all: the start of OAuth discovery, never counted as a failure.</summary>
    None,

    /// <summary>The address is over its failed-authentication limit; nothing was validated.</summary>
    Throttled,

    /// <summary>Two Authorization headers, two tokens, illegal characters (counted as a failure).</summary>
    Malformed,

    /// <summary>A token that is not acceptable, for the reason in <see cref="BearerCheck.Detail"/> (counted as a failure).</summary>
    Refused,

    Accepted,
}

/// <param name="RetryAfterSeconds">For <see cref="BearerCheckKind.Throttled"/>: whole seconds until the window ends (at least 1).</param>
/// <param name="Accepted">For <see cref="BearerCheckKind.Accepted"/>: the accepted token, to check again later.</param>
internal readonly record struct BearerCheck(BearerCheckKind Kind, ClaimsPrincipal? Principal = null, string? Detail = null, int RetryAfterSeconds = 0, CachedToken? Accepted = null);

/// <summary>
/// Reads and validates the bearer credentials of a request under the per-address failed-authentication limit: a
/// throttled address is refused before anything is validated, and malformed or refused credentials are counted. Every
/// endpoint that takes bearer tokens (the tool endpoints' middleware, the audit endpoints) goes through here, so they
/// share one count; each writes its own answer.
/// </summary>
internal sealed partial class BearerAuthentication(
    AccessTokenValidator validator,
    FailedAuthenticationLimiter failures,
    IOptions<SecurityOptions> options,
    ILogger<BearerAuthentication> logger)
{
    public async ValueTask<BearerCheck> CheckAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var presence = BearerCredentials.Read(context.Request, options.Value.MaxTokenBytes, out var token);
        if (presence == CredentialPresence.None)
        {
            return new(BearerCheckKind.None);
        }

        var address = context.Connection.RemoteIpAddress;
        if (failures.IsBlocked(address, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            Log.Throttled(logger, address?.ToString() ?? "unknown", seconds);
            return new(BearerCheckKind.Throttled, RetryAfterSeconds: seconds);
        }

        if (presence == CredentialPresence.Malformed)
        {
            failures.RecordFailure(address);
            return new(BearerCheckKind.Malformed, Detail: "malformed credentials");
        }

        var outcome = await validator.ValidateAsync(token, context.RequestAborted);
        if (outcome.Principal is null)
        {
            failures.RecordFailure(address);
            return new(BearerCheckKind.Refused, Detail: outcome.Detail);
        }

        return new(BearerCheckKind.Accepted, outcome.Principal, Accepted: outcome.Accepted);
    }

    /// <summary>Sets the headers of a 429 answer to a throttled check (the caller writes the body).</summary>
    public static void SetThrottled(HttpResponse response, BearerCheck check)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCodes.Status429TooManyRequests;
        response.Headers.RetryAfter = check.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers.CacheControl = "no-store";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6202, EventName = "AuthenticationThrottled", Level = LogLevel.Debug, Message = "Refused credentials from {Address} without checking them: too many failures this minute (retry in {Seconds} s)")]
        public static partial void Throttled(ILogger logger, [Compliance.PrivateData] string address, int seconds);
    }
}
