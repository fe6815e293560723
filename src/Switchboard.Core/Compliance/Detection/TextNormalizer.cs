namespace Switchboard.Compliance.Detection;

/// <summary>
/// Folds the look-alike characters people paste into identifiers before matching: full-width digits, letters and
/// punctuation (<c>１３８００１３８０００</c>), ideographic and no-break spaces, the many dashes, and drops zero-width
/// characters. Keeps a map from each normalised position back to the original, so a masked span covers exactly the
/// characters the caller sent.
/// </summary>
internal static class TextNormalizer
{
    /// <summary>Returns the text unchanged (and a null map) when nothing needed folding: the common case.</summary>
    public static string Normalize(string text, out int[]? map)
    {
        map = null;
        var i = 0;
        for (; i < text.Length; i++)
        {
            if (NeedsWork(text[i]))
            {
                break;
            }
        }

        if (i == text.Length)
        {
            return text;
        }

        var buffer = new char[text.Length];
        var positions = new int[text.Length + 1];
        var length = 0;
        for (var j = 0; j < text.Length; j++)
        {
            var c = text[j];
            if (IsZeroWidth(c))
            {
                continue;
            }

            buffer[length] = Fold(c);
            positions[length] = j;
            length++;
        }

        positions[length] = text.Length;
        map = positions;
        return new string(buffer, 0, length);
    }

    /// <summary>Maps a span of the normalised text back to the original text.</summary>
    public static (int Start, int Length) ToOriginal(int[]? map, int start, int length)
    {
        if (map is null)
        {
            return (start, length);
        }

        var originalStart = map[start];
        var originalEnd = map[start + length - 1] + 1;
        return (originalStart, originalEnd - originalStart);
    }

    private static bool NeedsWork(char c) => c >= '\u00A0' && (IsZeroWidth(c) || Fold(c) != c);

    private static bool IsZeroWidth(char c) => c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u00AD';

    private static char Fold(char c) => c switch
    {
        // Full-width forms of printable ASCII (！ to ～).
        >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),
        '\u3000' or '\u00A0' or '\u2007' or '\u202F' or '\u2002' or '\u2003' or '\u2009' => ' ',
        '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2015' or '\u2212' or '\uFE63' => '-',
        '\u3002' => '.',
        _ => c,
    };
}
