using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Scaling;
using Switchboard.Transports.Rest;

namespace Switchboard.Transports.Http;

/// <summary>
/// The checks every HTTP request passes before reaching an endpoint, in this order:
/// <list type="number">
/// <item><c>Host</c> must be one the server answers to (DNS-rebinding defence) — else 400. Health probes are exempt,
/// since orchestrators call them by pod address.</item>
/// <item>An <c>Origin</c>, when present, must be allowed — else 403 (MCP Streamable HTTP rule).</item>
/// <item>The body must fit the configured limit — else 413, whether announced by <c>Content-Length</c> or discovered
/// while streaming.</item>
/// </list>
/// Refusals carry a JSON-RPC error body with a null id, which MCP clients understand; a 413 under <c>/v1</c> (REST)
/// carries RFC 9457 problem details instead.
/// </summary>
internal sealed partial class HttpGuardMiddleware(
    RequestDelegate next,
    EndpointAllowlist allowlist,
    IOptions<SwitchboardOptions> options,
    ILogger<HttpGuardMiddleware> logger)
{
    private readonly long _maxBody = options.Value.Http.MaxRequestBodyBytes;

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var isProbe = path.Equals(HealthEndpoints.LivenessPath, StringComparison.Ordinal) || path.Equals(HealthEndpoints.ReadinessPath, StringComparison.Ordinal);

        if (!isProbe && !allowlist.IsHostAllowed(context.Request.Host))
        {
            Log.HostRefused(logger, GatewayErrorText(context.Request.Host.Value));
            return RefuseAsync(context, StatusCodes.Status400BadRequest, JsonRpcHttpError.InvalidRequest, "invalid_host", "Bad Request: the Host header is not one this server answers to.");
        }

        var origin = context.Request.Headers.Origin;
        if (origin.Count > 0 && (origin.Count > 1 || !allowlist.IsOriginAllowed(origin[0]!)))
        {
            Log.OriginRefused(logger, GatewayErrorText(origin.ToString()));
            return RefuseAsync(context, StatusCodes.Status403Forbidden, JsonRpcHttpError.ServerError, "origin_not_allowed", "Forbidden: requests from this Origin are not allowed.");
        }

        if (context.Request.ContentLength > _maxBody)
        {
            return WriteTooLargeAsync(context);
        }

        return InvokeGuardedAsync(context);
    }

    private async Task InvokeGuardedAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
        {
            // A chunked body went over Kestrel's limit while the endpoint was reading it.
            await WriteTooLargeAsync(context);
        }
    }

    private Task WriteTooLargeAsync(HttpContext context)
    {
        Log.BodyTooLarge(logger, _maxBody);
        if (IsRest(context))
        {
            return RestProblem.ContentTooLarge(_maxBody).WriteAsync(context, closeConnection: true);
        }

        return JsonRpcHttpError.WriteAsync(
            context,
            StatusCodes.Status413PayloadTooLarge,
            JsonRpcHttpError.InvalidRequest,
            $"Request body too large: the limit is {_maxBody} bytes.",
            closeConnection: true);
    }

    /// <summary>REST callers get RFC 9457 problem details; everyone else (MCP clients) a JSON-RPC error.</summary>
    private static Task RefuseAsync(HttpContext context, int status, int jsonRpcCode, string problemCode, string message)
        => IsRest(context)
            ? new RestProblem(status, problemCode, message).WriteAsync(context)
            : JsonRpcHttpError.WriteAsync(context, status, jsonRpcCode, message);

    private static bool IsRest(HttpContext context)
        => context.Request.Path.StartsWithSegments(RestTransportExtensions.BasePath, StringComparison.OrdinalIgnoreCase);

    private static string GatewayErrorText(string? value) => Pipeline.GatewayError.Printable(value ?? string.Empty);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, EventName = "HostRefused", Level = LogLevel.Warning, Message = "Refused a request with Host {Host}")]
        public static partial void HostRefused(ILogger logger, string host);

        [LoggerMessage(EventId = 4002, EventName = "OriginRefused", Level = LogLevel.Warning, Message = "Refused a request with Origin {Origin}")]
        public static partial void OriginRefused(ILogger logger, string origin);

        [LoggerMessage(EventId = 4003, EventName = "BodyTooLarge", Level = LogLevel.Information, Message = "Refused a request body over {Limit} bytes")]
        public static partial void BodyTooLarge(ILogger logger, long limit);
    }
}
