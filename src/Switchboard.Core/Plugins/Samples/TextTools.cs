using System.ComponentModel;
using System.Globalization;
using System.Text;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Samples;

/// <summary>The <c>text</c> sample plugin: echo and word count.</summary>
[McpServerToolType]
public sealed class TextTools
{
    public const string PluginName = "text";
    public const string PluginVersion = "1.0.0";

    [McpServerTool(Name = "echo", Title = "Echo", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Returns the given text unchanged.")]
    public static string Echo([Description("The text to return.")] string text) => text;

    [McpServerTool(Name = "word_count", Title = "Word count", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Counts the words, characters (Unicode text elements) and lines of a text. Each CJK ideograph counts as one word.")]
    public static WordCountResult WordCount([Description("The text to count.")] string text) => WordCountResult.Of(text);
}

/// <summary>The result of <c>text_word_count</c>.</summary>
/// <param name="Words">Runs of letters, digits or marks, plus each CJK ideograph on its own.</param>
/// <param name="Characters">User-perceived characters (Unicode text elements).</param>
/// <param name="Lines">Lines, counting a final line without a line break.</param>
public sealed record WordCountResult(int Words, int Characters, int Lines)
{
    public static WordCountResult Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = 0;
        var inWord = false;
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsIdeograph(rune))
            {
                words++;
                inWord = false;
            }
            else if (Rune.IsLetterOrDigit(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation
                || (inWord && rune.Value is '\'' or '\u2019' or '-'))
            {
                if (!inWord)
                {
                    words++;
                    inWord = true;
                }
            }
            else
            {
                inWord = false;
            }
        }

        var characters = new StringInfo(text).LengthInTextElements;
        var lines = 0;
        if (text.Length > 0)
        {
            lines = text.AsSpan().Count('\n') + (text.EndsWith('\n') ? 0 : 1);
        }

        return new WordCountResult(words, characters, lines);
    }

    private static bool IsIdeograph(Rune rune) => rune.Value is
        (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x20000 and <= 0x3134F) // CJK ideographs
        or (>= 0x3040 and <= 0x30FF); // Japanese kana: no spaces between words either
}
