using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Compliance.Audit;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// The canonical form is what audit hashes are computed over, so any change to its bytes breaks verification of every
/// log written before. These pin the form: member order, escaping, integers only, and that the per-thread buffer the
/// writer reuses never leaks one record into the next.
/// </summary>
public sealed class CanonicalJsonTests
{
    private static string Canonical(JsonNode node) => Encoding.UTF8.GetString(CanonicalJson.Serialize(node));

    [Fact]
    public void Members_AreSortedByOrdinalUtf16Order_AtEveryDepth_AndArraysKeepTheirOrder()
    {
        var record = new JsonObject
        {
            ["zeta"] = 1,
            ["Zeta"] = 2,
            ["é"] = 3,
            ["\U0001F600"] = 4, // a surrogate pair: sorts by its high surrogate (0xD83D), before U+E000..U+FFFF, and is escaped
            ["\uFB01"] = 5,
            ["alpha"] = new JsonObject { ["b"] = true, ["a"] = false, ["c"] = null },
            ["list"] = new JsonArray(3, 1, 2),
        };

        Assert.Equal(
            "{\"Zeta\":2,\"alpha\":{\"a\":false,\"b\":true,\"c\":null},\"list\":[3,1,2],\"zeta\":1,\"é\":3,\"\\uD83D\\uDE00\":4,\"\uFB01\":5}",
            Canonical(record));
    }

    [Fact]
    public void Strings_EscapeOnlyQuotesBackslashesAndControlCharacters()
    {
        var record = new JsonObject { ["text"] = "a \"quoted\" \\ path\n\t<b>&'中文'" };

        Assert.Equal("{\"text\":\"a \\\"quoted\\\" \\\\ path\\n\\t<b>&'中文'\"}", Canonical(record));
    }

    [Fact]
    public void Numbers_MustBeIntegers_AndParsedIntegersKeepTheirValue()
    {
        Assert.Equal("{\"n\":-42,\"parsed\":9007199254740993}", Canonical(new JsonObject { ["n"] = -42L, ["parsed"] = JsonNode.Parse("9007199254740993") }));
        Assert.Throws<FormatException>(() => CanonicalJson.Serialize(new JsonObject { ["x"] = 1.5 }));
        Assert.Throws<FormatException>(() => CanonicalJson.Serialize(JsonNode.Parse("{\"x\":1e3}")!));
    }

    [Fact]
    public void AFailedRecord_LeavesNothingBehind_ForTheNextOneOnTheSameThread()
    {
        // Fails half-way through: members before "x" were already written into the reused buffer.
        Assert.Throws<FormatException>(() => CanonicalJson.Serialize(new JsonObject { ["a"] = "written first", ["x"] = 0.5 }));

        Assert.Equal("{\"b\":1}", Canonical(new JsonObject { ["b"] = 1 }));
    }

    [Fact]
    public void ALargeRecord_ThenASmallOne_BothComeOutWhole()
    {
        var large = new string('x', 200_000);

        Assert.Equal("{\"big\":\"" + large + "\"}", Canonical(new JsonObject { ["big"] = large }));
        Assert.Equal("{\"small\":true}", Canonical(new JsonObject { ["small"] = true }));
    }

    [Fact]
    public void IsCanonical_AcceptsItsOwnOutput_AndRejectsAnyOtherLayout()
    {
        var text = Canonical(new JsonObject { ["b"] = 1, ["a"] = "x" });

        Assert.True(CanonicalJson.IsCanonical(text, out _));
        Assert.False(CanonicalJson.IsCanonical("{\"b\":1,\"a\":\"x\"}", out _));
        Assert.False(CanonicalJson.IsCanonical("{\"a\": \"x\",\"b\":1}", out _));
        Assert.False(CanonicalJson.IsCanonical("{\"a\":\"x\",\"b\":1.0}", out _));
        Assert.False(CanonicalJson.IsCanonical("{\"a\":", out _));
        Assert.False(CanonicalJson.IsCanonical("[1]", out _));
    }
}
