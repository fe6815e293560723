using Switchboard.Plugins;

namespace Switchboard.Tests.Plugins;

public class ToolNamingTests
{
    [Theory]
    [InlineData("text", "echo", "text_echo")]
    [InlineData("text", "word_count", "text_word_count")]
    [InlineData("my-plugin", "get.item", "my-plugin_get-item")]
    [InlineData("", "test_simple_text", "test_simple_text")]
    public void Expose_JoinsPrefixAndSanitizedName(string prefix, string tool, string expected)
        => Assert.Equal(expected, ToolNaming.Expose(prefix, tool, 46));

    [Fact]
    public void Expose_LongName_IsTruncatedWithStableHashSuffix()
    {
        var longTool = new string('x', 80);
        var first = ToolNaming.Expose("plugin", longTool, 46);
        var second = ToolNaming.Expose("plugin", longTool, 46);

        Assert.Equal(46, first.Length);
        Assert.Equal(first, second);
        Assert.True(ToolNaming.IsValidExposedName(first));
        Assert.StartsWith("plugin_xxxx", first, StringComparison.Ordinal);
    }

    [Fact]
    public void Expose_TwoLongNamesSharingAPrefix_StayDistinct()
    {
        var a = ToolNaming.Expose("plugin", new string('a', 60) + "1", 40);
        var b = ToolNaming.Expose("plugin", new string('a', 60) + "2", 40);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Expose_PairsThatDifferOnlyInWhereTheSplitIs_NeverCollide()
    {
        // Plugin names cannot hold '_', so "a" + "b_c" and a hypothetical "a_b" + "c" can never both exist.
        Assert.False(ToolNaming.IsValidPluginName("a_b"));
        Assert.Equal("a_b_c", ToolNaming.Expose("a", "b_c", 46));
    }

    [Theory]
    [InlineData("text", true)]
    [InlineData("my-plugin2", true)]
    [InlineData("Text", false)]
    [InlineData("my_plugin", false)]
    [InlineData("1plugin", false)]
    [InlineData("", false)]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456", false)]
    public void IsValidPluginName_FollowsTheRule(string name, bool valid) => Assert.Equal(valid, ToolNaming.IsValidPluginName(name));

    [Theory]
    [InlineData("text_echo", true)]
    [InlineData("A-b_9", true)]
    [InlineData("has.dot", false)]
    [InlineData("has space", false)]
    [InlineData("", false)]
    public void IsValidExposedName_MatchesClaudeToolNameRule(string name, bool valid) => Assert.Equal(valid, ToolNaming.IsValidExposedName(name));

    [Fact]
    public void IsValidExposedName_RejectsMoreThan64Characters()
    {
        Assert.True(ToolNaming.IsValidExposedName(new string('a', 64)));
        Assert.False(ToolNaming.IsValidExposedName(new string('a', 65)));
    }
}
