using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Pipeline;
using Switchboard.Plugins;

namespace Switchboard.Security;

/// <summary>
/// For <c>tools/call</c> on the MCP endpoint, answers a call the caller has no grant for with HTTP 403 and
/// <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="…"</c> (MCP's runtime insufficient-scope rule), so a
/// client can step up its authorization instead of receiving an in-band error. The tool is found from the
/// <c>Mcp-Method</c>/<c>Mcp-Name</c> headers of 2026-07-28 requests (the SDK checks them against the body), or from the
/// body of 2025-11-25 requests. Unknown tools and tools of other tenants pass through, so the pipeline answers them as
/// unknown. Argument rules are left to the pipeline (they refuse with a tool error the model can act on).
/// </summary>
internal sealed class McpScopeChallengeMiddleware(RequestDelegate next, ToolAccess access, ToolCatalog catalog, ResourceIdentity identity)
{
    private const int MaxInspectedBody = 1024 * 1024;

    public Task InvokeAsync(HttpContext context)
    {
        if (!access.IsEnforced || !HttpMethods.IsPost(context.Request.Method)
            || !context.Request.Path.Equals("/mcp", StringComparison.OrdinalIgnoreCase) || context.User.Identity?.IsAuthenticated != true)
        {
            return next(context);
        }

        return CheckAsync(context);
    }

    private async Task CheckAsync(HttpContext context)
    {
        var toolName = await FindToolCallAsync(context.Request, context.RequestAborted);
        if (toolName is not null && catalog.Current.TryGetTool(toolName, out var tool))
        {
            var caller = access.Caller(context.User, GatewayTransport.StreamableHttp)!;
            var permissions = access.Permissions(caller);
            if (access.TenantMaySee(tool, permissions.Tenant) && !permissions.CanSee(tool))
            {
                var scope = ToolScopes.For(tool);
                _ = await Compliance.Audit.AuditStage.RecordScopeDenialAsync(context.RequestServices, caller, tool, scope);
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                context.Response.Headers.WWWAuthenticate = AuthenticationMiddleware.Challenge(identity, "insufficient_scope", scope);
                await AuthenticationMiddleware.WriteBodyAsync(context, $"Forbidden: this call needs the scope '{scope}'.");
                return;
            }
        }

        await next(context);
    }

    private static async Task<string?> FindToolCallAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var method = request.Headers["Mcp-Method"];
        if (method.Count == 1)
        {
            return method[0] == "tools/call" && request.Headers["Mcp-Name"] is { Count: 1 } name ? name[0] : null;
        }

        if (request.ContentLength is > MaxInspectedBody)
        {
            return null;
        }

        // A 2025-11-25 request carries the tool only in its body: read it once, then rewind for the SDK.
        request.EnableBuffering(MaxInspectedBody);
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() == "tools/call"
                && root.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Object
                && p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                ? n.GetString()
                : null;
        }
        catch (JsonException)
        {
            // Malformed: the SDK answers it.
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }
}
