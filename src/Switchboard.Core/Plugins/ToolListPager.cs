using System.Buffers.Text;
using System.Text;

namespace Switchboard.Plugins;

/// <summary>
/// Splits a tool list into pages with opaque cursors. The cursor encodes the last name of the previous page, so the
/// next page starts after it in the (deterministic, ordinal) order: stable across replicas and restarts, and a tool
/// added or removed between pages never shifts the others.
/// </summary>
internal static class ToolListPager
{
    private const string Prefix = "t1:";

    /// <summary>Returns one page, or false when <paramref name="cursor"/> is not a cursor this server issued.</summary>
    public static bool TryGetPage(
        IReadOnlyList<CatalogTool> tools,
        string? cursor,
        int pageSize,
        out List<CatalogTool> page,
        out string? nextCursor)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        page = [];
        nextCursor = null;

        var start = 0;
        if (cursor is not null)
        {
            if (!TryDecode(cursor, out var after))
            {
                return false;
            }

            while (start < tools.Count && string.CompareOrdinal(tools[start].Name, after) <= 0)
            {
                start++;
            }
        }

        var end = Math.Min(tools.Count, start + pageSize);
        for (var i = start; i < end; i++)
        {
            page.Add(tools[i]);
        }

        if (end < tools.Count)
        {
            nextCursor = Encode(tools[end - 1].Name);
        }

        return true;
    }

    public static string Encode(string lastName)
        => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + lastName));

    private static bool TryDecode(string cursor, out string after)
    {
        after = string.Empty;
        if (cursor.Length is 0 or > 256)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[256];
        if (!Base64Url.IsValid(cursor) || !Base64Url.TryDecodeFromChars(cursor, buffer, out var written))
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(buffer[..written]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        if (!text.StartsWith(Prefix, StringComparison.Ordinal) || !ToolNaming.IsValidExposedName(text[Prefix.Length..]))
        {
            return false;
        }

        after = text[Prefix.Length..];
        return true;
    }
}
