using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Pipeline;

namespace Switchboard.Transports.Rest;

/// <summary>
/// A protocol-level failure of a REST request, written as RFC 9457 problem details. <see cref="Detail"/> reaches the
/// caller, so it is built from fixed text, tool names and limits only: never exception text or argument values.
/// </summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="Code">A stable, machine-readable code (the <c>code</c> extension member), e.g. <c>unknown_tool</c>.</param>
/// <param name="Detail">What went wrong in this occurrence, for a human.</param>
internal sealed record RestProblem(int Status, string Code, string Detail)
{
    /// <summary>The <c>Retry-After</c> header of a 429 or 503, in whole seconds.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public const string ContentType = "application/problem+json";

    /// <summary>The same problem the pipeline reports for an unknown tool, so a malformed name and a missing one look alike.</summary>
    public static RestProblem UnknownTool(string name) => FromGatewayError(GatewayError.UnknownTool(name));

    public static RestProblem InvalidCursor() => new(
        StatusCodes.Status400BadRequest,
        "invalid_cursor",
        "Invalid cursor: pass back a nextCursor value exactly as returned by GET /v1/tools.");

    public static RestProblem ContentTooLarge(long limit) => new(
        StatusCodes.Status413PayloadTooLarge,
        "body_too_large",
        $"Request body too large: the limit is {limit} bytes.");

    public static RestProblem FromGatewayError(GatewayError error) => new(error.HttpStatus, CodeOf(error.Kind), error.Message)
    {
        RetryAfter = error.RetryAfter,
    };

    public static RestProblem Internal() => new(
        StatusCodes.Status500InternalServerError,
        "internal_error",
        "The gateway failed to process the request. The failure was logged; try again later.");

    /// <summary>
    /// Writes the problem as the response. A response that has already started cannot be replaced, so the connection is
    /// aborted instead (the caller sees a broken response rather than a wrong one).
    /// </summary>
    /// <param name="context">The request to answer.</param>
    /// <param name="closeConnection">Whether to ask the client to close the connection (its body was not read).</param>
    /// <param name="allow">The <c>Allow</c> header of a 405.</param>
    /// <param name="challenge">The <c>WWW-Authenticate</c> header of a 401 or 403 (set here, after the response is cleared).</param>
    public Task WriteAsync(HttpContext context, bool closeConnection = false, string? allow = null, string? challenge = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }

        context.Response.Clear();
        context.Response.StatusCode = Status;
        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-store";
        if (closeConnection)
        {
            // The unread request body cannot be skipped safely; the client must not reuse this connection.
            context.Response.Headers.Connection = "close";
        }

        if (allow is not null)
        {
            context.Response.Headers.Allow = allow;
        }

        if (challenge is not null)
        {
            context.Response.Headers.WWWAuthenticate = challenge;
        }

        if (RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return WriteBodyAsync(context.Response.Body, context.RequestAborted);
    }

    private async Task WriteBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        // Relaxed escaping keeps quotes and non-ASCII tool names readable; the body is JSON, never embedded in HTML.
        await using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteString("type", TypeOf(Status));
        writer.WriteString("title", TitleOf(Status));
        writer.WriteNumber("status", Status);
        writer.WriteString("detail", Detail);
        writer.WriteString("code", Code);
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    private static string CodeOf(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.NotFound => "not_found",
        GatewayErrorKind.InvalidRequest => "invalid_request",
        GatewayErrorKind.Unavailable => "unavailable",
        GatewayErrorKind.Forbidden => "insufficient_scope",
        GatewayErrorKind.Unauthenticated => "unauthenticated",
        GatewayErrorKind.TooManyRequests => "rate_limited",
        _ => "internal_error",
    };

    // The problem types are the HTTP status semantics themselves (as ASP.NET Core's own defaults use); the `code`
    // extension member tells problems with the same status apart.
    internal static string TypeOf(int status) => status switch
    {
        400 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        404 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        405 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6",
        413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        415 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        429 => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        503 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
        _ => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
    };

    internal static string TitleOf(int status) => status switch
    {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
}
