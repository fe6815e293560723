using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Serialization;

namespace Switchboard.Transports.Rest;

/// <summary>
/// The REST endpoints under <c>/v1</c>. Like the MCP handlers, they only translate: each request becomes a
/// <see cref="ToolListContext"/> or <see cref="ToolCallContext"/> on the one <see cref="GatewayPipeline"/>, so every stage
/// (telemetry today; auth, masking, audit, state as they land) applies to REST without REST-specific code.
/// A tool result is always 200, even with <c>isError: true</c>: that is the tool's answer. Only protocol-level failures
/// (<see cref="GatewayError"/>, unreadable bodies) become RFC 9457 problem details.
/// </summary>
internal sealed partial class RestToolEndpoints(
    GatewayPipeline pipeline,
    ToolCatalog catalog,
    IOptions<SwitchboardOptions> options,
    TimeProvider timeProvider,
    ILogger<RestToolEndpoints> logger)
{
    private const string JsonContentType = "application/json; charset=utf-8";

    private static readonly JsonTypeInfo<CallToolResult> s_callToolResult =
        (JsonTypeInfo<CallToolResult>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult));

    /// <summary><c>GET /v1/tools[?cursor=]</c>: one page of the tools the caller may call, in the catalog's order.</summary>
    public async Task ListAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var cancellationToken = httpContext.RequestAborted;
        var cursors = httpContext.Request.Query["cursor"];
        if (cursors.Count > 1)
        {
            await RestProblem.InvalidCursor().WriteAsync(httpContext);
            return;
        }

        var context = new ToolListContext(GatewayTransport.Rest, catalog.Current, timeProvider.GetTimestamp())
        {
            User = httpContext.User,
        };

        ToolListOutcome outcome;
        try
        {
            outcome = await pipeline.ListToolsAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            Log.RequestFailed(logger, "list", ex.GetType().Name, ex);
            await RestProblem.Internal().WriteAsync(httpContext);
            return;
        }

        if (outcome.IsError)
        {
            await RestProblem.FromGatewayError(outcome.Error).WriteAsync(httpContext, challenge: Challenge(httpContext, outcome.Error));
            return;
        }

        if (!ToolListPager.TryGetPage(outcome.Tools, cursors.Count == 1 ? cursors[0] : null, options.Value.Tools.ListPageSize, out var page, out var nextCursor))
        {
            await RestProblem.InvalidCursor().WriteAsync(httpContext);
            return;
        }

        var tools = new List<RestTool>(page.Count);
        foreach (var tool in page)
        {
            tools.Add(RestTool.From(tool));
        }

        httpContext.Response.Headers.CacheControl = "no-store";
        await httpContext.Response.WriteAsJsonAsync(new RestToolList(tools, nextCursor), SwitchboardJsonContext.Default.RestToolList, JsonContentType, cancellationToken);
    }

    /// <summary><c>POST /v1/tools/{name}/call</c>: the body is the arguments object; the response is the MCP tool result.</summary>
    public async Task CallAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var cancellationToken = httpContext.RequestAborted;
        var name = httpContext.Request.RouteValues["name"] as string;
        if (name is null || !ToolNaming.IsValidExposedName(name))
        {
            // No exposed name can look like this, so it is simply not found (and never reaches the pipeline).
            await RestProblem.UnknownTool(name ?? string.Empty).WriteAsync(httpContext);
            return;
        }

        // An oversized body throws BadHttpRequestException here; it is deliberately not caught (the HTTP guard answers 413).
        var body = await RestRequestBody.ReadArgumentsAsync(httpContext.Request, cancellationToken);
        if (body.Problem is { } problem)
        {
            await problem.WriteAsync(httpContext);
            return;
        }

        var context = new ToolCallContext(GatewayTransport.Rest, name, catalog.Current, timeProvider.GetTimestamp())
        {
            Arguments = body.Arguments,
            User = httpContext.User,
            ConversationHandle = HeaderOrNull(httpContext, Conversations.ConversationProtocol.HandleHeader),
            OperationId = HeaderOrNull(httpContext, Conversations.ConversationProtocol.OperationHeader),
        };

        CallToolResult result;
        try
        {
            var outcome = await pipeline.CallToolAsync(context, cancellationToken);
            if (outcome.IsError)
            {
                await RestProblem.FromGatewayError(outcome.Error).WriteAsync(httpContext, challenge: Challenge(httpContext, outcome.Error));
                return;
            }

            result = outcome.Result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller went away; there is nobody to answer.
            return;
        }
        catch (InputRequiredException)
        {
            // MCP 2026-07-28 lets a tool ask its client for more input; a REST caller cannot answer, so, like a tool that
            // tries to elicit over the detached server, this is a tool result the caller can read, not a transport failure.
            result = ToolCallOutcome.ToolErrorResult(
                $"Tool '{name}' needs more input from its caller (an MCP input request), which the REST transport cannot provide. Call it over MCP instead.");
        }
        catch (McpProtocolException ex)
        {
            Log.ToolProtocolError(logger, name, (int)ex.ErrorCode);
            await FromProtocolException(ex).WriteAsync(httpContext);
            return;
        }
        catch (Exception ex)
        {
            Log.RequestFailed(logger, "call", ex.GetType().Name, ex);
            await RestProblem.Internal().WriteAsync(httpContext);
            return;
        }

        httpContext.Response.Headers.CacheControl = "no-store";
        if (result.Meta?[Conversations.ConversationProtocol.HandleMetaKey] is System.Text.Json.Nodes.JsonValue handle && handle.TryGetValue<string>(out var handleText))
        {
            // REST callers read the (possibly re-signed) handle from a header, like they sent it.
            httpContext.Response.Headers[Conversations.ConversationProtocol.HandleHeader] = handleText;
        }

        await httpContext.Response.WriteAsJsonAsync(result, s_callToolResult, JsonContentType, cancellationToken);
    }

    private static string? HeaderOrNull(HttpContext httpContext, string name)
        => httpContext.Request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>Any other path under <c>/v1</c>: 405 for a known path with the wrong method, else 404, as problem details.</summary>
    public static Task FallbackAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var allow = AllowedMethods(httpContext.Request.Path);
        if (allow is null)
        {
            return new RestProblem(StatusCodes.Status404NotFound, "no_such_endpoint", "There is no REST endpoint at this path. See /openapi/v1.json for the API.")
                .WriteAsync(httpContext);
        }

        return new RestProblem(StatusCodes.Status405MethodNotAllowed, "method_not_allowed", $"This endpoint accepts {allow} only.")
            .WriteAsync(httpContext, allow: allow);
    }

    private static string? AllowedMethods(PathString path)
    {
        var segments = (path.Value ?? string.Empty).Trim('/').Split('/');
        return segments switch
        {
            [var v, var t] when IsSegment(v, "v1") && IsSegment(t, "tools") => "GET",
            [var v, var t, _, var c] when IsSegment(v, "v1") && IsSegment(t, "tools") && IsSegment(c, "call") => "POST",
            _ => null,
        };

        static bool IsSegment(string value, string expected) => value.Equals(expected, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A tool (or, later, an upstream server) refused the call at protocol level. Messages of the "your request is wrong"
    /// codes are written for the caller, and MCP clients see them too; any other code is reported without its text.
    /// </summary>
    private static RestProblem FromProtocolException(McpProtocolException exception) => exception.ErrorCode switch
    {
        McpErrorCode.InvalidParams or McpErrorCode.InvalidRequest =>
            new RestProblem(StatusCodes.Status400BadRequest, "invalid_request", GatewayError.Printable(exception.Message)),
        _ => RestProblem.Internal(),
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, EventName = "RestRequestFailed", Level = LogLevel.Error, Message = "REST {Operation} failed with {ExceptionType}")]
        public static partial void RequestFailed(ILogger logger, string operation, string exceptionType, Exception exception);

        [LoggerMessage(EventId = 4202, EventName = "RestToolProtocolError", Level = LogLevel.Information, Message = "Tool {Tool} refused a REST call with MCP error {ErrorCode}")]
        public static partial void ToolProtocolError(ILogger logger, string tool, int errorCode);
    }

    /// <summary>
    /// A refused call tells the client which scope would allow it (RFC 6750 §3 insufficient_scope). Returned rather than
    /// set: the problem writer clears the response first, which used to drop this header from every REST 403.
    /// </summary>
    private static string? Challenge(HttpContext httpContext, GatewayError error)
    {
        if (error.Kind is not (GatewayErrorKind.Forbidden or GatewayErrorKind.Unauthenticated))
        {
            return null;
        }

        var identity = httpContext.RequestServices.GetRequiredService<Security.ResourceIdentity>();
        return Security.AuthenticationMiddleware.Challenge(
            identity,
            error.Kind == GatewayErrorKind.Forbidden ? "insufficient_scope" : null,
            error.RequiredScope);
    }
}
