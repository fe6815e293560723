using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Security;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// <c>GET /audit/proof/{seq}</c>: the record, its RFC 6962 inclusion proof and the signed checkpoint it is proven
/// against. With authentication on it needs a bearer token with the scope <c>audit:read</c>.
/// </summary>
internal static partial class AuditEndpoints
{
    public const string ProofPath = "/audit/proof/{seq}";
    public const string ReadScope = "audit:read";

    public static void MapAuditEndpoints(this IEndpointRouteBuilder endpoints)
        => endpoints.MapGet(ProofPath, ProofAsync);

    private static async Task ProofAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        var services = context.RequestServices;
        if (services.GetRequiredService<IOptions<SecurityOptions>>().Value.RequireAuthentication && !await AuthorizeAsync(context))
        {
            return;
        }

        var log = services.GetRequiredService<AuditLog>();
        if (!log.Enabled || !long.TryParse(context.Request.RouteValues["seq"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            await Problem(context, 404, "No such audit record.");
            return;
        }

        AuditProof? proof;
        try
        {
            proof = await log.GetProofAsync(sequence, context.RequestAborted);
        }
        catch (InvalidDataException ex)
        {
            // A stored hash the path needs is missing (rows deleted from the file): say so, without the details.
            Log.ProofUnavailable(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuditEndpoints)), sequence, ex.Message);
            await Problem(context, 500, "The audit log's stored tree is incomplete, so no proof can be built; an operator should run `switchboard audit verify`.");
            return;
        }

        if (proof is null)
        {
            await Problem(context, 404, "No such audit record.");
            return;
        }

        var path = new JsonArray();
        foreach (var hash in proof.Path)
        {
            path.Add((JsonNode)Convert.ToHexStringLower(hash));
        }

        var document = new JsonObject
        {
            ["seq"] = sequence,
            ["record"] = proof.Record.Record,
            ["leafHash"] = Convert.ToHexStringLower(proof.Record.LeafHash),
            ["treeSize"] = proof.TreeSize,
            ["rootHash"] = Convert.ToHexStringLower(proof.RootHash),
            ["inclusionProof"] = path,
            ["checkpoint"] = new JsonObject
            {
                ["jws"] = proof.Checkpoint.Jws,
                ["kid"] = proof.Checkpoint.Kid,
                ["jwk"] = JsonNode.Parse(proof.Checkpoint.PublicJwk),
            },
        };
        await SecurityEndpoints.WriteJsonAsync(context, document, "application/json");
    }

    private static async Task<bool> AuthorizeAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var identity = services.GetRequiredService<ResourceIdentity>();
        var check = await services.GetRequiredService<BearerAuthentication>().CheckAsync(context);
        if (check.Kind == BearerCheckKind.Throttled)
        {
            BearerAuthentication.SetThrottled(context.Response, check);
            await Problem(context, 429, $"Too many refused credentials from this address; retry in {check.RetryAfterSeconds} s.");
            return false;
        }

        if (check.Kind is BearerCheckKind.None or BearerCheckKind.Malformed)
        {
            context.Response.Headers.WWWAuthenticate = AuthenticationMiddleware.Challenge(identity, null, ReadScope);
            await Problem(context, 401, "This endpoint needs a bearer token with the scope audit:read.");
            return false;
        }

        if (check.Kind != BearerCheckKind.Accepted)
        {
            context.Response.Headers.WWWAuthenticate = AuthenticationMiddleware.Challenge(identity, "invalid_token", null);
            await Problem(context, 401, "The bearer token is not acceptable.");
            return false;
        }

        var scopes = (check.Principal!.FindFirst(SwitchboardClaims.Scope)?.Value ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!scopes.Contains(ReadScope, StringComparer.Ordinal))
        {
            context.Response.Headers.WWWAuthenticate = AuthenticationMiddleware.Challenge(identity, "insufficient_scope", ReadScope);
            await Problem(context, 403, "This endpoint needs the scope audit:read.");
            return false;
        }

        return true;
    }

    private static Task Problem(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return SecurityEndpoints.WriteJsonAsync(context, new JsonObject { ["status"] = status, ["detail"] = detail }, "application/problem+json");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7401, EventName = "AuditProofUnavailable", Level = LogLevel.Error, Message = "Audit: no inclusion proof for record {Sequence}: {Reason}")]
        public static partial void ProofUnavailable(ILogger logger, long sequence, string reason);
    }
}
