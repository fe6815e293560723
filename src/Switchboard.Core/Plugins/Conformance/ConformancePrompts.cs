using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Conformance;

/// <summary>
/// The conformance prompts, served by SDK handlers directly (prompts are not gateway-managed yet). One of them,
/// <c>test_input_required_result_prompt</c>, shows that <c>prompts/get</c> takes part in SEP-2322 multi-round trips
/// just like <c>tools/call</c>.
/// </summary>
internal static class ConformancePrompts
{
    private const string InputRequiredPrompt = "test_input_required_result_prompt";

    private static readonly Prompt[] s_prompts =
    [
        new() { Name = "test_simple_prompt", Title = "Simple Test Prompt", Description = "A simple prompt without arguments" },
        new()
        {
            Name = "test_prompt_with_arguments",
            Title = "Prompt With Arguments",
            Description = "A prompt with required arguments",
            Arguments =
            [
                new() { Name = "arg1", Description = "First test argument", Required = true },
                new() { Name = "arg2", Description = "Second test argument", Required = true },
            ],
        },
        new()
        {
            Name = "test_prompt_with_embedded_resource",
            Title = "Prompt With Embedded Resource",
            Description = "A prompt that includes an embedded resource",
            Arguments = [new() { Name = "resourceUri", Description = "URI of the resource to embed", Required = true }],
        },
        new() { Name = "test_prompt_with_image", Title = "Prompt With Image", Description = "A prompt that includes image content" },
        new() { Name = InputRequiredPrompt, Title = "Prompt Requiring Input", Description = "MRTR: a prompt that asks the user for context before it is built" },
    ];

    private static readonly string[] s_argumentSuggestions = ["paris", "park", "party", "test", "testing"];

    public static ValueTask<ListPromptsResult> ListAsync(RequestContext<ListPromptsRequestParams> request, CancellationToken cancellationToken)
        => ValueTask.FromResult(new ListPromptsResult { Prompts = [.. s_prompts], TimeToLive = TimeSpan.FromMinutes(5), CacheScope = CacheScope.Public });

    public static ValueTask<GetPromptResult> GetAsync(RequestContext<GetPromptRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parameters = request.Params ?? throw new McpProtocolException("prompts/get requires params.", McpErrorCode.InvalidParams);
        IList<PromptMessage> messages = parameters.Name switch
        {
            "test_simple_prompt" => [User(new TextContentBlock { Text = "This is a simple prompt for testing." })],
            "test_prompt_with_arguments" => [User(new TextContentBlock
            {
                Text = $"Prompt with arguments: arg1='{Argument(parameters, "arg1")}', arg2='{Argument(parameters, "arg2")}'",
            })],
            "test_prompt_with_embedded_resource" =>
            [
                User(new EmbeddedResourceBlock
                {
                    Resource = new TextResourceContents
                    {
                        Uri = Argument(parameters, "resourceUri"),
                        MimeType = "text/plain",
                        Text = "Embedded resource content for testing.",
                    },
                }),
                User(new TextContentBlock { Text = "Please process the embedded resource above." }),
            ],
            "test_prompt_with_image" =>
            [
                User(ConformanceTools.Png()),
                User(new TextContentBlock { Text = "Please analyze the image above." }),
            ],
            InputRequiredPrompt => [User(new TextContentBlock { Text = $"Prompt with context: {RequireContext(parameters)}" })],
            _ => throw new McpProtocolException($"Unknown prompt: '{parameters.Name}'.", McpErrorCode.InvalidParams),
        };

        return ValueTask.FromResult(new GetPromptResult { Messages = messages });
    }

    /// <summary>Completion values for a prompt argument: the fixed suggestions that start with what was typed.</summary>
    public static IEnumerable<string> CompleteArgument(string? promptName, string argument)
        => promptName == "test_prompt_with_arguments" && argument is "arg1" or "arg2" ? s_argumentSuggestions : [];

    private static PromptMessage User(ContentBlock content) => new() { Role = Role.User, Content = content };

    private static string Argument(GetPromptRequestParams parameters, string name)
    {
        if (parameters.Arguments?.TryGetValue(name, out var value) == true && value.ValueKind == JsonValueKind.String)
        {
            return value.GetString()!;
        }

        throw new McpProtocolException($"Prompt '{parameters.Name}' requires the string argument '{name}'.", McpErrorCode.InvalidParams);
    }

    private static string RequireContext(GetPromptRequestParams parameters)
    {
        if (MrtrAnswers.TryGetElicitedString(parameters, "user_context", "context", out var context))
        {
            return context;
        }

        throw new InputRequiredException(new Dictionary<string, InputRequest>
        {
            ["user_context"] = ConformanceInputRequiredTools.AskForString("What context should the prompt use?", "context"),
        });
    }
}
