using System.Text.Json;
using ModelContextProtocol.Protocol;
using Switchboard.Plugins;

namespace Switchboard.Transports.Rest;

/// <summary>The body of <c>GET /v1/tools</c>: one page of the caller's tools and, when more follow, the cursor to the next.</summary>
internal sealed record RestToolList(IReadOnlyList<RestTool> Tools, string? NextCursor);

/// <summary>One tool as REST callers see it: the MCP tool definition without MCP-only members (icons, _meta, execution).</summary>
internal sealed record RestTool(
    string Name,
    string? Title,
    string? Description,
    JsonElement InputSchema,
    JsonElement? OutputSchema,
    ToolAnnotations? Annotations)
{
    public static RestTool From(CatalogTool tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var definition = tool.ProtocolTool;
        return new RestTool(tool.Name, definition.Title, definition.Description, definition.InputSchema, definition.OutputSchema, definition.Annotations);
    }
}
