namespace Switchboard.Bench.Load;

/// <summary>The tool every transport calls, and the text its answer must carry.</summary>
/// <param name="Tool">The tool name as the server lists it (<c>text_echo</c>, <c>echo</c>).</param>
/// <param name="Argument">The name of the tool's text argument (<c>text</c>, <c>message</c>).</param>
/// <param name="Text">The text sent.</param>
/// <param name="ExpectedText">The text a correct answer carries in a content block (the TypeScript server prefixes <c>Echo: </c>).</param>
internal sealed record CallTarget(string Tool, string Argument, string Text, string ExpectedText)
{
    public const string DefaultText = "hello from switchboard-bench";

    /// <summary>Switchboard's (and the bare SDK server's) sample echo tool.</summary>
    public static CallTarget TextEcho { get; } = new("text_echo", "text", DefaultText, DefaultText);
}
