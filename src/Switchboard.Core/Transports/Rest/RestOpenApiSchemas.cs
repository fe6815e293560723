using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Switchboard.Transports.Rest;

/// <summary>
/// The schemas of the REST API's own shapes (tool list, tool result, problem details), written out by hand: the REST
/// endpoints are plain request delegates with no CLR types for the generator to describe, and the MCP types they return
/// are polymorphic in ways a generated schema would describe poorly.
/// </summary>
internal static class RestOpenApiSchemas
{
    public const string ProblemDetails = "ProblemDetails";
    public const string Tool = "Tool";
    public const string ToolList = "ToolList";
    public const string ContentBlock = "ContentBlock";
    public const string CallToolResult = "CallToolResult";
    public const string ToolArguments = "ToolArguments";

    /// <summary>Adds the shared schemas to the document's components.</summary>
    public static void AddComponents(OpenApiDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        document.Components ??= new OpenApiComponents();
        var schemas = document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);

        schemas[ProblemDetails] = Object(
            "An RFC 9457 problem: why the request failed at protocol level (the tool did not answer).",
            ["type", "title", "status", "detail"],
            ("type", String("A URI reference identifying the problem type (the HTTP status semantics).", format: "uri-reference")),
            ("title", String("A short summary of the problem type.")),
            ("status", new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "The HTTP status code." }),
            ("detail", String("What went wrong in this occurrence.")),
            ("code", String("A stable machine-readable code, e.g. not_found, invalid_json, invalid_body, invalid_cursor, unsupported_media_type, body_too_large.")));

        schemas[Tool] = Object(
            "A tool the caller may call.",
            ["name", "inputSchema"],
            ("name", String("The exposed tool name; use it in POST /v1/tools/{name}/call.", pattern: RestTransportExtensions.ToolNamePattern)),
            ("title", String("A human-readable title.")),
            ("description", String("What the tool does.")),
            ("inputSchema", AnyObject("The JSON Schema of the arguments object (the request body of the call).")),
            ("outputSchema", AnyObject("The JSON Schema of structuredContent in the tool's result, when the tool declares one.")),
            ("annotations", AnyObject("MCP tool annotations (readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title).")));

        schemas[ToolList] = Object(
            "One page of the caller's tools, in a deterministic order.",
            ["tools"],
            ("tools", new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference(Tool, document) }),
            ("nextCursor", String("Present when more tools follow: pass it back as ?cursor= to get the next page.")));

        schemas[ContentBlock] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "One block of a tool result (MCP content): text, image, audio, resource_link or resource.",
            Required = new HashSet<string>(StringComparer.Ordinal) { "type" },
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
            {
                ["type"] = String("The kind of block.", values: ["text", "image", "audio", "resource_link", "resource"]),
                ["text"] = String("The text, for type text."),
                ["data"] = String("Base64 data, for image and audio.", format: "byte"),
                ["mimeType"] = String("The media type of data."),
            },
            AdditionalPropertiesAllowed = true,
        };

        schemas[CallToolResult] = Object(
            "The tool's answer: the MCP CallToolResult. isError: true means the tool failed (bad arguments, timeout, tool error); it is still HTTP 200.",
            ["content"],
            ("content", new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference(ContentBlock, document) }),
            ("structuredContent", AnyObject("Machine-readable result, when the tool declares an output schema.")),
            ("isError", new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "True when the tool failed; content explains why." }));

        schemas[ToolArguments] = AnyObject("The tool's arguments as one JSON object; see the tool's inputSchema. An empty body means {}.");
    }

    /// <summary>
    /// Turns a tool's JSON Schema into an OpenAPI 3.1 schema (3.1 schemas are JSON Schema 2020-12, as MCP's are). A schema
    /// that uses <c>$ref</c> cannot be moved into the OpenAPI document as is (its references point into the tool's own
    /// schema), so it is replaced by <paramref name="fallback"/>, as is anything the reader cannot take.
    /// </summary>
    public static IOpenApiSchema FromToolSchema(JsonElement schema, OpenApiDocument document, IOpenApiSchema fallback)
    {
        if (schema.ValueKind != JsonValueKind.Object || UsesReferences(schema))
        {
            return fallback;
        }

        try
        {
            if (JsonNode.Parse(schema.GetRawText()) is not { } node)
            {
                return fallback;
            }

            var parsed = new OpenApiJsonReader().ReadFragment<OpenApiSchema>(node, OpenApiSpecVersion.OpenApi3_1, document, out var diagnostic);
            return parsed is not null && (diagnostic is null || diagnostic.Errors.Count == 0) ? parsed : fallback;
        }
        catch (Exception ex) when (ex is JsonException or OpenApiException or InvalidOperationException or FormatException)
        {
            return fallback;
        }
    }

    private static bool UsesReferences(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals("$ref") || property.NameEquals("$dynamicRef") || UsesReferences(property.Value))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (UsesReferences(item))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    public static OpenApiSchema AnyObject(string description) => new()
    {
        Type = JsonSchemaType.Object,
        Description = description,
        AdditionalPropertiesAllowed = true,
    };

    public static OpenApiSchema String(string description, string? format = null, string? pattern = null, string[]? values = null) => new()
    {
        Type = JsonSchemaType.String,
        Description = description,
        Format = format,
        Pattern = pattern,
        Enum = values?.Select(v => (JsonNode)JsonValue.Create(v)).ToList(),
    };

    private static OpenApiSchema Object(string description, string[] required, params (string Name, IOpenApiSchema Schema)[] properties)
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = description,
            Required = new HashSet<string>(required, StringComparer.Ordinal),
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal),
        };
        foreach (var (name, property) in properties)
        {
            schema.Properties[name] = property;
        }

        return schema;
    }
}
