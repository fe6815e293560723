using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.Rest;

/// <summary>
/// Writes the REST API into the OpenAPI document: the two generic operations (<c>GET /v1/tools</c>,
/// <c>POST /v1/tools/{name}/call</c>) and one typed operation per tool (<c>POST /v1/tools/text_echo/call</c>) whose request
/// body schema is the tool's input schema. The document is built on every request, and the per-tool operations come from
/// a <c>tools/list</c> through the pipeline, so they follow catalog reloads and show only tools a caller could list.
/// </summary>
internal sealed class RestOpenApiDocumentTransformer(GatewayPipeline pipeline, ToolCatalog catalog, TimeProvider timeProvider) : IOpenApiDocumentTransformer
{
    private const string GatewayTag = "Gateway";
    private const string ToolsTag = "Tools";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(context);

        document.Info = new OpenApiInfo
        {
            Title = "Switchboard REST API",
            Version = McpServerOptionsSetup.ServerVersion,
            Description =
                "Plain JSON tool calls for callers that do not speak MCP. Every request runs through the same gateway pipeline as MCP. " +
                "A tool's answer is always HTTP 200, including results with isError: true (the tool failed, its arguments were wrong, " +
                "or it timed out); protocol-level failures are RFC 9457 problem details (application/problem+json).",
        };
        RestOpenApiSchemas.AddComponents(document);
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = GatewayTag, Description = "Listing and calling tools by name." });
        document.Tags.Add(new OpenApiTag { Name = ToolsTag, Description = "One typed operation per tool the caller can list." });

        document.Paths ??= [];
        document.Paths[RestTransportExtensions.ToolsPath] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = ListOperation(document) },
        };
        document.Paths[RestTransportExtensions.ToolsPath + "/{name}/call"] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = GenericCallOperation(document) },
        };

        foreach (var tool in await ListVisibleToolsAsync(context.ApplicationServices, cancellationToken))
        {
            document.Paths[$"{RestTransportExtensions.ToolsPath}/{tool.Name}/call"] = new OpenApiPathItem
            {
                Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = ToolCallOperation(document, tool) },
            };
        }
    }

    private async Task<IReadOnlyList<CatalogTool>> ListVisibleToolsAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        // The transformer is not handed the HTTP request. When something registered IHttpContextAccessor (authentication
        // will), the document shows what this caller may list; otherwise the stages see an anonymous caller.
        var user = services.GetService<IHttpContextAccessor>()?.HttpContext?.User;
        var context = new ToolListContext(GatewayTransport.Rest, catalog.Current, timeProvider.GetTimestamp()) { User = user };
        var outcome = await pipeline.ListToolsAsync(context, cancellationToken);
        return outcome.IsError ? [] : outcome.Tools;
    }

    private static OpenApiOperation ListOperation(OpenApiDocument document) => new()
    {
        OperationId = "listTools",
        Summary = "List tools",
        Description = "One page of the tools the caller may call, in a deterministic order (ordinal by name). " +
            "When nextCursor is present, pass it back as ?cursor= for the next page.",
        Tags = new HashSet<OpenApiTagReference> { new(GatewayTag, document) },
        Parameters =
        [
            new OpenApiParameter
            {
                Name = "cursor",
                In = ParameterLocation.Query,
                Required = false,
                Description = "The nextCursor of the previous page, exactly as returned.",
                Schema = RestOpenApiSchemas.String("An opaque cursor."),
            },
        ],
        Responses = new OpenApiResponses
        {
            ["200"] = Json("One page of tools.", new OpenApiSchemaReference(RestOpenApiSchemas.ToolList, document)),
            ["400"] = Problem(document, "The cursor is not one this server issued."),
            ["500"] = Problem(document, "The gateway failed."),
            ["503"] = Problem(document, "The gateway cannot serve the request right now."),
        },
    };

    private static OpenApiOperation GenericCallOperation(OpenApiDocument document)
    {
        var operation = CallOperation(document, new OpenApiSchemaReference(RestOpenApiSchemas.ToolArguments, document), new OpenApiSchemaReference(RestOpenApiSchemas.CallToolResult, document));
        operation.OperationId = "callTool";
        operation.Summary = "Call a tool by name";
        operation.Description = "Calls the named tool with the request body as its arguments. The response is the tool's MCP result. " +
            "See the Tools operations for each tool's argument schema.";
        operation.Tags = new HashSet<OpenApiTagReference> { new(GatewayTag, document) };
        operation.Parameters =
        [
            new OpenApiParameter
            {
                Name = "name",
                In = ParameterLocation.Path,
                Required = true,
                Description = "The exposed tool name, as listed by GET /v1/tools.",
                Schema = RestOpenApiSchemas.String("A tool name.", pattern: RestTransportExtensions.ToolNamePattern),
            },
        ];
        return operation;
    }

    private static OpenApiOperation ToolCallOperation(OpenApiDocument document, CatalogTool tool)
    {
        var definition = tool.ProtocolTool;
        var arguments = RestOpenApiSchemas.FromToolSchema(
            definition.InputSchema,
            document,
            RestOpenApiSchemas.AnyObject("This tool's input schema cannot be shown here; see inputSchema in GET /v1/tools."));

        IOpenApiSchema result = new OpenApiSchemaReference(RestOpenApiSchemas.CallToolResult, document);
        if (definition.OutputSchema is { } outputSchema)
        {
            // The tool declares its structured output: describe structuredContent with it.
            var structured = RestOpenApiSchemas.FromToolSchema(outputSchema, document, RestOpenApiSchemas.AnyObject("Structured result."));
            result = new OpenApiSchema
            {
                AllOf =
                [
                    result,
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal) { ["structuredContent"] = structured },
                    },
                ],
            };
        }

        var operation = CallOperation(document, arguments, result);
        operation.OperationId = "call_" + tool.Name;
        operation.Summary = definition.Title ?? definition.Annotations?.Title ?? tool.Name;
        operation.Description = definition.Description;
        operation.Tags = new HashSet<OpenApiTagReference> { new(ToolsTag, document) };
        if (definition.Annotations is { } annotations)
        {
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
            operation.Extensions["x-mcp-annotations"] = new JsonNodeExtension(new JsonObject
            {
                ["readOnlyHint"] = annotations.ReadOnlyHint,
                ["destructiveHint"] = annotations.DestructiveHint,
                ["idempotentHint"] = annotations.IdempotentHint,
                ["openWorldHint"] = annotations.OpenWorldHint,
            });
        }

        return operation;
    }

    private static OpenApiOperation CallOperation(OpenApiDocument document, IOpenApiSchema arguments, IOpenApiSchema result) => new()
    {
        RequestBody = new OpenApiRequestBody
        {
            Required = false,
            Description = "The arguments as one JSON object (Content-Type: application/json). An empty body means {}.",
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = new() { Schema = arguments } },
        },
        Responses = new OpenApiResponses
        {
            ["200"] = Json("The tool's answer. isError: true (tool failure, invalid arguments, timeout) is still 200.", result),
            ["400"] = Problem(document, "The body is not valid JSON or not a JSON object."),
            ["404"] = Problem(document, "No tool with this name is available to the caller."),
            ["413"] = Problem(document, "The body is over the configured size limit."),
            ["415"] = Problem(document, "The body is not sent as application/json."),
            ["429"] = Problem(document, "The caller or the tool's plugin is over a configured rate limit or bulkhead; the Retry-After header says when to try again."),
            ["500"] = Problem(document, "The gateway failed."),
            ["503"] = Problem(document, "The gateway cannot serve the request right now."),
        },
    };

    private static OpenApiResponse Json(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = new() { Schema = schema } },
    };

    private static OpenApiResponse Problem(OpenApiDocument document, string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
        {
            [RestProblem.ContentType] = new() { Schema = new OpenApiSchemaReference(RestOpenApiSchemas.ProblemDetails, document) },
        },
    };
}
