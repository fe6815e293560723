// The conformance scenarios exercise features the 2026-07-28 revision deprecates (sampling, roots, logging) because
// 2025-11-25 clients still use them; the SDK marks those APIs obsolete (MCP9005).
#pragma warning disable MCP9005
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Conformance;

/// <summary>
/// Fixtures for the 2026-07-28 scenarios: SEP-2322 multi-round-trip requests (a tool answers
/// <c>resultType: "input_required"</c> by throwing <see cref="InputRequiredException"/>, the client retries with
/// <c>inputResponses</c> and the echoed <c>requestState</c>), and the SEP-2575 diagnostic tools of
/// <c>server-stateless</c>. Every retry is judged only on what it carries: the gateway keeps no state between rounds,
/// which is what lets any replica serve the next round.
/// </summary>
[McpServerToolType]
internal sealed class ConformanceInputRequiredTools
{
    [McpServerTool(Name = "test_input_required_result_elicitation", ReadOnly = true)]
    [Description("MRTR: returns InputRequiredResult with an elicitation request keyed 'user_name', then greets the user")]
    public static CallToolResult Elicitation(RequestContext<CallToolRequestParams> context)
    {
        if (MrtrAnswers.TryGetElicitedString(context.Params, "user_name", "name", out var name))
        {
            return ConformanceTools.Text($"Hello, {name}!");
        }

        // Missing, misnamed or malformed responses are asked for again rather than failed (SEP-2322 recommends it).
        throw new InputRequiredException(new Dictionary<string, InputRequest> { ["user_name"] = AskForString("What is your name?", "name") });
    }

    [McpServerTool(Name = "test_input_required_result_sampling", ReadOnly = true)]
    [Description("MRTR: returns InputRequiredResult with a sampling request keyed 'capital_question'")]
    public static CallToolResult Sampling(RequestContext<CallToolRequestParams> context)
    {
        if (MrtrAnswers.TryGetSampledText(context.Params, "capital_question", out var text))
        {
            return ConformanceTools.Text($"Sampling result: {text}");
        }

        throw new InputRequiredException(new Dictionary<string, InputRequest> { ["capital_question"] = AskModel("What is the capital of France?", 100) });
    }

    [McpServerTool(Name = "test_input_required_result_list_roots", ReadOnly = true)]
    [Description("MRTR: returns InputRequiredResult with a roots/list request keyed 'client_roots'")]
    public static CallToolResult ListRoots(RequestContext<CallToolRequestParams> context)
    {
        if (MrtrAnswers.TryGetRootCount(context.Params, "client_roots", out var count))
        {
            return ConformanceTools.Text($"Found {count} root(s)");
        }

        throw new InputRequiredException(new Dictionary<string, InputRequest> { ["client_roots"] = AskForRoots() });
    }

    [McpServerTool(Name = "test_input_required_result_request_state", ReadOnly = true)]
    [Description("MRTR: returns InputRequiredResult with requestState; the retry must echo it (answers 'state-ok')")]
    public static CallToolResult RequestState(RequestContext<CallToolRequestParams> context)
    {
        if (context.Params.RequestState is { } state)
        {
            var payload = RequestStateProtector.Unprotect(state) ?? throw RequestStateProtector.Rejected();
            if (IsKind(payload, "request-state") && MrtrAnswers.TryGetElicitedValue(context.Params, "confirm", "ok", out var ok) && ok.ValueKind == JsonValueKind.True)
            {
                return ConformanceTools.Text("state-ok: requestState validated");
            }
        }

        throw new InputRequiredException(
            new Dictionary<string, InputRequest> { ["confirm"] = AskForBoolean("Please confirm", "ok") },
            RequestStateProtector.Protect(new JsonObject { ["kind"] = "request-state" }));
    }

    [McpServerTool(Name = "test_input_required_result_multiple_inputs", ReadOnly = true)]
    [Description("MRTR: returns InputRequiredResult with elicitation, sampling and roots/list requests in one round")]
    public static CallToolResult MultipleInputs(RequestContext<CallToolRequestParams> context)
    {
        var parameters = context.Params;
        if (parameters.RequestState is { } state)
        {
            var payload = RequestStateProtector.Unprotect(state) ?? throw RequestStateProtector.Rejected();
            if (IsKind(payload, "multiple-inputs")
                && MrtrAnswers.TryGetElicitedString(parameters, "user_name", "name", out var name)
                && MrtrAnswers.TryGetSampledText(parameters, "greeting", out var greeting)
                && MrtrAnswers.TryGetRootCount(parameters, "client_roots", out var roots))
            {
                return ConformanceTools.Text($"Name: {name}; Greeting: {greeting}; Roots: {roots}");
            }
        }

        throw new InputRequiredException(
            new Dictionary<string, InputRequest>
            {
                ["user_name"] = AskForString("What is your name?", "name"),
                ["greeting"] = AskModel("Generate a greeting", 50),
                ["client_roots"] = AskForRoots(),
            },
            RequestStateProtector.Protect(new JsonObject { ["kind"] = "multiple-inputs" }));
    }

    [McpServerTool(Name = "test_input_required_result_multi_round", ReadOnly = true)]
    [Description("MRTR: three rounds (name, then colour, then the answer) with a new requestState each round")]
    public static CallToolResult MultiRound(RequestContext<CallToolRequestParams> context)
    {
        var parameters = context.Params;
        if (parameters.RequestState is { } state)
        {
            var payload = RequestStateProtector.Unprotect(state) ?? throw RequestStateProtector.Rejected();
            var round = payload["round"] is JsonValue value && value.TryGetValue<int>(out var r) ? r : 0;
            if (round == 1 && MrtrAnswers.TryGetElicitedString(parameters, "step1", "name", out var name))
            {
                throw new InputRequiredException(
                    new Dictionary<string, InputRequest> { ["step2"] = AskForString("Step 2: What is your favorite color?", "color") },
                    RequestStateProtector.Protect(new JsonObject { ["kind"] = "multi-round", ["round"] = 2, ["name"] = name }));
            }

            if (round == 2 && MrtrAnswers.TryGetElicitedString(parameters, "step2", "color", out var color))
            {
                var who = payload["name"] is JsonValue n && n.TryGetValue<string>(out var s) ? s : "friend";
                return ConformanceTools.Text($"Multi-round complete for {who} who likes {color}");
            }
        }

        throw new InputRequiredException(
            new Dictionary<string, InputRequest> { ["step1"] = AskForString("Step 1: What is your name?", "name") },
            RequestStateProtector.Protect(new JsonObject { ["kind"] = "multi-round", ["round"] = 1 }));
    }

    [McpServerTool(Name = "test_input_required_result_tampered_state", ReadOnly = true)]
    [Description("MRTR: issues an HMAC-signed requestState and rejects a retry whose state was altered")]
    public static CallToolResult TamperedState(RequestContext<CallToolRequestParams> context)
    {
        if (context.Params.RequestState is { } state)
        {
            var payload = RequestStateProtector.Unprotect(state) ?? throw RequestStateProtector.Rejected();
            if (IsKind(payload, "tamper-test") && MrtrAnswers.Has(context.Params, "confirm"))
            {
                return ConformanceTools.Text("integrity-ok: state verified");
            }
        }

        throw new InputRequiredException(
            new Dictionary<string, InputRequest> { ["confirm"] = AskForBoolean("Please confirm", "ok") },
            RequestStateProtector.Protect(new JsonObject { ["kind"] = "tamper-test" }));
    }

    [McpServerTool(Name = "test_input_required_result_capabilities", ReadOnly = true)]
    [Description("MRTR: asks only for the kinds of input the client declared it can give")]
    public static CallToolResult Capabilities(RequestContext<CallToolRequestParams> context)
    {
        if (context.Params.InputResponses is { Count: > 0 } responses)
        {
            return ConformanceTools.Text($"capabilities-ok: received {string.Join(",", responses.Keys.Order(StringComparer.Ordinal))}");
        }

        // A 2026-07-28 request carries its own capabilities; the SDK's request-bound server exposes them here.
        var capabilities = context.Server.ClientCapabilities;
        var requests = new Dictionary<string, InputRequest>();
        if (capabilities?.Elicitation is not null)
        {
            requests["elicit_input"] = AskForString("Elicitation input", "value");
        }

        if (capabilities?.Sampling is not null)
        {
            requests["sample_input"] = AskModel("Sample request", 50);
        }

        if (capabilities?.Roots is not null)
        {
            requests["client_roots"] = AskForRoots();
        }

        if (requests.Count == 0)
        {
            return ConformanceTools.Text("No supported capabilities declared");
        }

        throw new InputRequiredException(requests, RequestStateProtector.Protect(new JsonObject { ["kind"] = "capabilities-test" }));
    }

    [McpServerTool(Name = "test_missing_capability", ReadOnly = true)]
    [Description("Requires the client's sampling capability; without it the call fails with MissingRequiredClientCapabilityError (-32021)")]
    public static CallToolResult MissingCapability(RequestContext<CallToolRequestParams> context)
    {
        if (context.Server.ClientCapabilities?.Sampling is null)
        {
            throw new MissingRequiredClientCapabilityException(
                new ClientCapabilities { Sampling = new SamplingCapability() },
                "This tool needs the client's sampling capability, which the request did not declare.");
        }

        return ConformanceTools.Text("Success");
    }

    [McpServerTool(Name = "test_streaming_elicitation", ReadOnly = true)]
    [Description("Diagnostic: the response stream carries progress and the result, never a request of its own")]
    public static async Task<CallToolResult> StreamingElicitation(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        if (context.Params.ProgressToken is { } token)
        {
            await context.Server.NotifyProgressAsync(token, new ProgressNotificationValue { Progress = 50, Total = 100 }, cancellationToken: cancellationToken);
        }

        return ConformanceTools.Text("Streaming complete");
    }

    [McpServerTool(Name = "test_logging_tool", ReadOnly = true)]
    [Description("Diagnostic: logs only when the request asked for logs (_meta io.modelcontextprotocol/logLevel)")]
    public static async Task<CallToolResult> LoggingTool(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        await ClientLog.SendAsync(context, LoggingLevel.Info, "Diagnostic trace logging activated", cancellationToken);
        return ConformanceTools.Text("Logging evaluated");
    }

    internal static InputRequest AskForString(string message, string field) => InputRequest.ForElicitation(new ElicitRequestParams
    {
        Message = message,
        RequestedSchema = new ElicitRequestParams.RequestSchema
        {
            Properties = { [field] = new ElicitRequestParams.StringSchema() },
            Required = [field],
        },
    });

    private static InputRequest AskForBoolean(string message, string field) => InputRequest.ForElicitation(new ElicitRequestParams
    {
        Message = message,
        RequestedSchema = new ElicitRequestParams.RequestSchema
        {
            Properties = { [field] = new ElicitRequestParams.BooleanSchema() },
            Required = [field],
        },
    });

    private static InputRequest AskModel(string prompt, int maxTokens) => InputRequest.ForSampling(new CreateMessageRequestParams
    {
        Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }],
        MaxTokens = maxTokens,
    });

    private static InputRequest AskForRoots() => InputRequest.ForRootsList(new ListRootsRequestParams());

    private static bool IsKind(JsonObject payload, string kind)
        => payload["kind"] is JsonValue value && value.TryGetValue<string>(out var actual) && actual == kind;
}

/// <summary>
/// Reads a client's MRTR answers defensively: a response that is missing, declined or of the wrong shape counts as
/// not given, so the tool asks again instead of failing or, worse, completing with made-up input.
/// </summary>
internal static class MrtrAnswers
{
    public static bool Has(RequestParams parameters, string key)
        => parameters.InputResponses?.ContainsKey(key) == true;

    public static bool TryGetElicitedValue(RequestParams parameters, string key, string field, out JsonElement value)
    {
        value = default;
        var result = TryRead(parameters, key, InputResponse.ElicitResultJsonTypeInfo);
        return result is { Action: "accept", Content: { } content } && content.TryGetValue(field, out value);
    }

    public static bool TryGetElicitedString(RequestParams parameters, string key, string field, out string text)
    {
        text = string.Empty;
        if (!TryGetElicitedValue(parameters, key, field, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        text = value.GetString()!;
        return true;
    }

    public static bool TryGetSampledText(RequestParams parameters, string key, out string text)
    {
        text = TryRead(parameters, key, InputResponse.CreateMessageResultJsonTypeInfo)?.Content?.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? string.Empty;
        return text.Length > 0;
    }

    public static bool TryGetRootCount(RequestParams parameters, string key, out int count)
    {
        count = TryRead(parameters, key, InputResponse.ListRootsResultJsonTypeInfo)?.Roots?.Count ?? -1;
        return count >= 0;
    }

    private static T? TryRead<T>(RequestParams parameters, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (parameters.InputResponses?.TryGetValue(key, out var response) != true || response is null || response.RawValue.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        try
        {
            return response.Deserialize(typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
