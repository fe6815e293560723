using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

public class ToolListPagerTests
{
    private static IReadOnlyList<CatalogTool> Tools(params string[] names)
        => ToolCatalogBuilder.Build([TestPlugins.Plugin("p", names)], new ToolOptions(), new Dictionary<string, PluginSettings>(), 1).Tools;

    [Fact]
    public void TryGetPage_WalksAllPagesInOrderWithoutGapsOrRepeats()
    {
        var tools = Tools("a", "b", "c", "d", "e");
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            Assert.True(ToolListPager.TryGetPage(tools, cursor, 2, out var page, out cursor));
            seen.AddRange(page.Select(t => t.Name));
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(tools.Select(t => t.Name), seen);
    }

    [Fact]
    public void TryGetPage_LastPage_HasNoCursor()
    {
        Assert.True(ToolListPager.TryGetPage(Tools("a", "b"), null, 2, out var page, out var next));
        Assert.Equal(2, page.Count);
        Assert.Null(next);
    }

    [Fact]
    public void TryGetPage_ToolRemovedBetweenPages_DoesNotSkipOthers()
    {
        Assert.True(ToolListPager.TryGetPage(Tools("a", "b", "c", "d"), null, 2, out _, out var cursor));

        // "b" (the last tool of page one) disappears before page two is asked for.
        Assert.True(ToolListPager.TryGetPage(Tools("a", "c", "d"), cursor, 2, out var page, out _));

        Assert.Equal(["p_c", "p_d"], page.Select(t => t.Name));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("")]
    [InlineData("aGVsbG8")] // "hello": no prefix
    [InlineData("dDE6YmFkIG5hbWU")] // "t1:bad name": invalid name
    public void TryGetPage_ForeignCursor_IsRejected(string cursor)
        => Assert.False(ToolListPager.TryGetPage(Tools("a"), cursor, 10, out _, out _));

    [Fact]
    public void TryGetPage_OverlongCursor_IsRejected()
        => Assert.False(ToolListPager.TryGetPage(Tools("a"), new string('A', 5000), 10, out _, out _));
}
