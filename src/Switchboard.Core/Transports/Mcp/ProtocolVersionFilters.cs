using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Transports.Mcp;

/// <summary>
/// Makes <c>server/discover</c> list every revision this dual-era server supports. The SDK lists only the per-request
/// revisions there, while its -32022 error lists all of them; a client must be able to take either list at its word
/// (the conformance suite requires the error's list to be a subset of the discover list).
/// </summary>
internal static class ProtocolVersionFilters
{
    private const string DiscoverMarker = "switchboard.discover";

    /// <summary>Marks incoming <c>server/discover</c> requests; the response shares the request's context.</summary>
    public static McpMessageFilter MarkDiscover { get; } = next => (context, cancellationToken) =>
    {
        if (context.JsonRpcMessage is JsonRpcRequest { Method: RequestMethods.ServerDiscover })
        {
            context.Items[DiscoverMarker] = true;
        }

        return next(context, cancellationToken);
    };

    /// <summary>Rewrites the supported versions of a marked discover response.</summary>
    public static McpMessageFilter RewriteDiscover { get; } = next => (context, cancellationToken) =>
    {
        if (context.JsonRpcMessage is JsonRpcResponse { Result: JsonObject result } response
            && response.Context?.Items is { } items
            && items.ContainsKey(DiscoverMarker))
        {
            var versions = new JsonArray();
            foreach (var version in ProtocolVersions.Supported)
            {
                versions.Add((JsonNode?)JsonValue.Create(version));
            }

            result["supportedVersions"] = versions;
        }

        return next(context, cancellationToken);
    };
}
