// The conformance scenarios exercise features the 2026-07-28 revision deprecates (sampling, roots, logging) because
// 2025-11-25 clients still use them; the SDK marks those APIs obsolete (MCP9005).
#pragma warning disable MCP9005
using System.Buffers;
using System.ComponentModel;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Conformance;

/// <summary>
/// The tools the official MCP conformance suite calls by name (see the conformance repository's
/// <c>examples/servers/typescript/README.md</c>): content types, logging, progress, errors, and server-to-client
/// sampling and elicitation. They run through the gateway pipeline like any in-process plugin, so a passing suite
/// also proves the pipeline carries these features.
/// </summary>
[McpServerToolType]
internal sealed class ConformanceTools(TimeProvider timeProvider)
{
    /// <summary>A 1x1 red PNG, base64.</summary>
    internal const string PngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

    /// <summary>A minimal WAV file, base64.</summary>
    internal const string WavBase64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

    // The suite's reference server pauses between notifications so a client sees them arrive during the call,
    // not batched with the result.
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(50);

    [McpServerTool(Name = "test_simple_text", ReadOnly = true)]
    [Description("Tests simple text content response")]
    public static CallToolResult SimpleText() => Text("This is a simple text response for testing.");

    [McpServerTool(Name = "test_image_content", ReadOnly = true)]
    [Description("Tests image content response")]
    public static CallToolResult ImageContent() => new() { Content = [Png()] };

    [McpServerTool(Name = "test_audio_content", ReadOnly = true)]
    [Description("Tests audio content response")]
    public static CallToolResult AudioContent() => new()
    {
        Content = [new AudioContentBlock { Data = Encoding.UTF8.GetBytes(WavBase64), MimeType = "audio/wav" }],
    };

    [McpServerTool(Name = "test_embedded_resource", ReadOnly = true)]
    [Description("Tests embedded resource content response")]
    public static CallToolResult EmbeddedResource() => new()
    {
        Content =
        [
            new EmbeddedResourceBlock
            {
                Resource = new TextResourceContents
                {
                    Uri = "test://embedded-resource",
                    MimeType = "text/plain",
                    Text = "This is an embedded resource content.",
                },
            },
        ],
    };

    [McpServerTool(Name = "test_multiple_content_types", ReadOnly = true)]
    [Description("Tests response with multiple content types (text, image, resource)")]
    public static CallToolResult MultipleContentTypes() => new()
    {
        Content =
        [
            new TextContentBlock { Text = "Multiple content types test:" },
            Png(),
            new EmbeddedResourceBlock
            {
                Resource = new TextResourceContents
                {
                    Uri = "test://mixed-content-resource",
                    MimeType = "application/json",
                    Text = """{"test":"data","value":123}""",
                },
            },
        ],
    };

    [McpServerTool(Name = "test_tool_with_logging", ReadOnly = true)]
    [Description("Tests tool that emits log messages during execution")]
    public async Task<CallToolResult> ToolWithLogging(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        await ClientLog.SendAsync(context, LoggingLevel.Info, "Tool execution started", cancellationToken);
        await Task.Delay(s_step, timeProvider, cancellationToken);
        await ClientLog.SendAsync(context, LoggingLevel.Info, "Tool processing data", cancellationToken);
        await Task.Delay(s_step, timeProvider, cancellationToken);
        await ClientLog.SendAsync(context, LoggingLevel.Info, "Tool execution completed", cancellationToken);
        return Text("Tool with logging executed successfully");
    }

    [McpServerTool(Name = "test_tool_with_progress", ReadOnly = true)]
    [Description("Tests tool that reports progress notifications")]
    public async Task<CallToolResult> ToolWithProgress(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        // Read from the request (not an injected IProgress) so the tool can echo the caller's token back.
        if (context.Params.ProgressToken is not { } token)
        {
            return Text("No progress token provided");
        }

        for (var step = 0; step <= 100; step += 50)
        {
            if (step > 0)
            {
                await Task.Delay(s_step, timeProvider, cancellationToken);
            }

            await context.Server.NotifyProgressAsync(
                token,
                new ProgressNotificationValue { Progress = step, Total = 100, Message = $"Completed step {step} of 100" },
                cancellationToken: cancellationToken);
        }

        return Text(token.ToString() ?? string.Empty);
    }

    [McpServerTool(Name = "test_error_handling", ReadOnly = true)]
    [Description("Tests error response handling")]
    public static CallToolResult ErrorHandling() => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = "This tool intentionally returns an error for testing" }],
    };

    [McpServerTool(Name = "test_sampling")]
    [Description("Tests server-initiated sampling (LLM completion request)")]
    public static async Task<CallToolResult> Sampling(
        McpServer server,
        [Description("The prompt to send to the LLM")] string prompt,
        CancellationToken cancellationToken)
    {
        var request = new CreateMessageRequestParams
        {
            Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }],
            MaxTokens = 100,
        };

        var result = await server.SampleAsync(request, cancellationToken);
        var answer = result.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? "No response";
        return Text($"LLM response: {answer}");
    }

    [McpServerTool(Name = "test_elicitation")]
    [Description("Tests server-initiated elicitation (user input request)")]
    public static async Task<CallToolResult> Elicitation(
        McpServer server,
        [Description("The message to show the user")] string message,
        CancellationToken cancellationToken)
    {
        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = message,
                RequestedSchema = new ElicitRequestParams.RequestSchema
                {
                    Properties = { ["response"] = new ElicitRequestParams.StringSchema { Description = "User's response" } },
                    Required = ["response"],
                },
            },
            cancellationToken);
        return Text($"User response: action={result.Action}, content={DescribeContent(result)}");
    }

    [McpServerTool(Name = "test_elicitation_sep1034_defaults")]
    [Description("Tests elicitation with default values per SEP-1034")]
    public static async Task<CallToolResult> ElicitationWithDefaults(McpServer server, CancellationToken cancellationToken)
    {
        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = "Please review and update the form fields with defaults",
                RequestedSchema = new ElicitRequestParams.RequestSchema
                {
                    Properties =
                    {
                        ["name"] = new ElicitRequestParams.StringSchema { Description = "User name", Default = "John Doe" },
                        ["age"] = new ElicitRequestParams.NumberSchema { Type = "integer", Description = "User age", Default = 30 },
                        ["score"] = new ElicitRequestParams.NumberSchema { Description = "User score", Default = 95.5 },
                        ["status"] = new ElicitRequestParams.UntitledSingleSelectEnumSchema
                        {
                            Description = "User status",
                            Enum = ["active", "inactive", "pending"],
                            Default = "active",
                        },
                        ["verified"] = new ElicitRequestParams.BooleanSchema { Description = "Verification status", Default = true },
                    },
                    Required = [],
                },
            },
            cancellationToken);
        return Text($"Elicitation completed: action={result.Action}, content={DescribeContent(result)}");
    }

    [McpServerTool(Name = "test_elicitation_sep1330_enums")]
    [Description("Tests elicitation with enum schema improvements per SEP-1330")]
    public static async Task<CallToolResult> ElicitationWithEnums(McpServer server, CancellationToken cancellationToken)
    {
        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = "Please select options from the enum fields",
                RequestedSchema = new ElicitRequestParams.RequestSchema
                {
                    Properties =
                    {
                        ["untitledSingle"] = new ElicitRequestParams.UntitledSingleSelectEnumSchema
                        {
                            Description = "Select one option",
                            Enum = ["option1", "option2", "option3"],
                        },
                        ["titledSingle"] = new ElicitRequestParams.TitledSingleSelectEnumSchema
                        {
                            Description = "Select one option with titles",
                            OneOf = Options("value1", "First Option", "value2", "Second Option", "value3", "Third Option"),
                        },
                        // SEP-1330 keeps enumNames as the deprecated form; the scenario checks that it still round-trips.
#pragma warning disable MCP9001
                        ["legacyEnum"] = new ElicitRequestParams.LegacyTitledEnumSchema
                        {
                            Description = "Select one option (legacy)",
                            Enum = ["opt1", "opt2", "opt3"],
                            EnumNames = ["Option One", "Option Two", "Option Three"],
                        },
#pragma warning restore MCP9001
                        ["untitledMulti"] = new ElicitRequestParams.UntitledMultiSelectEnumSchema
                        {
                            Description = "Select multiple options",
                            MinItems = 1,
                            MaxItems = 3,
                            Items = new ElicitRequestParams.UntitledEnumItemsSchema { Enum = ["option1", "option2", "option3"] },
                        },
                        ["titledMulti"] = new ElicitRequestParams.TitledMultiSelectEnumSchema
                        {
                            Description = "Select multiple options with titles",
                            MinItems = 1,
                            MaxItems = 3,
                            Items = new ElicitRequestParams.TitledEnumItemsSchema
                            {
                                AnyOf = Options("value1", "First Choice", "value2", "Second Choice", "value3", "Third Choice"),
                            },
                        },
                    },
                    Required = [],
                },
            },
            cancellationToken);
        return Text($"Elicitation completed: action={result.Action}, content={DescribeContent(result)}");
    }

    /// <summary>
    /// SEP-1699: the stream is closed by <see cref="ConformanceServerOptions"/> once this result exists, so a
    /// 2025-11-25 client receives it by resuming the stream with <c>Last-Event-ID</c>.
    /// </summary>
    [McpServerTool(Name = "test_reconnection", ReadOnly = true)]
    [Description("Tests SSE stream disconnection and client reconnection (SEP-1699): the server closes the response stream mid-call and the client resumes it with Last-Event-ID.")]
    public static CallToolResult Reconnection()
        => Text("Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.");

    internal static ImageContentBlock Png() => new() { Data = Encoding.UTF8.GetBytes(PngBase64), MimeType = "image/png" };

    internal static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    private static List<ElicitRequestParams.EnumSchemaOption> Options(params string[] constAndTitle)
    {
        var options = new List<ElicitRequestParams.EnumSchemaOption>(constAndTitle.Length / 2);
        for (var i = 0; i + 1 < constAndTitle.Length; i += 2)
        {
            options.Add(new ElicitRequestParams.EnumSchemaOption { Const = constAndTitle[i], Title = constAndTitle[i + 1] });
        }

        return options;
    }

    private static string DescribeContent(ElicitResult result)
        => ToJsonObjectText(result.Content);

    /// <summary>Writes name/value pairs as one JSON object (values kept exactly as the client sent them).</summary>
    internal static string ToJsonObjectText(IEnumerable<KeyValuePair<string, JsonElement>>? properties)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in properties ?? [])
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>
/// The <c>json_schema_2020_12_tool</c> fixture: a tool whose input schema uses JSON Schema 2020-12 features
/// (<c>$schema</c>, <c>$defs</c>/<c>$anchor</c>, <c>$ref</c>, composition and conditionals). It is written by hand
/// rather than generated from a method, because the point is that the gateway lists the schema exactly as given.
/// </summary>
internal sealed class JsonSchema202012Tool : McpServerTool
{
    private static readonly JsonElement s_inputSchema = JsonElement.Parse("""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "$defs": {
            "address": {
              "$anchor": "addressDef",
              "type": "object",
              "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
            }
          },
          "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
          },
          "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
          "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
          "then": { "required": ["phone"] },
          "else": { "required": ["email"] },
          "additionalProperties": false
        }
        """);

    public override Tool ProtocolTool { get; } = new()
    {
        Name = "json_schema_2020_12_tool",
        Description = "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        InputSchema = s_inputSchema,
        Annotations = new ToolAnnotations { ReadOnlyHint = true },
    };

    public override IReadOnlyList<object> Metadata => [];

    public override ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var arguments = ConformanceTools.ToJsonObjectText(request.Params.Arguments);
        return ValueTask.FromResult(ConformanceTools.Text($"JSON Schema 2020-12 tool called with: {arguments}"));
    }
}
