using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;
using Switchboard.Plugins.Samples;

namespace Switchboard.Tests.Plugins.Samples;

public class SampleToolsTests
{
    [Fact]
    public void Now_UsesTheInjectedClockAndZone()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 2, 3, TimeSpan.Zero));
        var sut = new ClockTools(time);

        Assert.Equal("2026-11-24T01:02:03+00:00 (UTC, UTC+00:00, Tuesday)", sut.Now());
        Assert.Equal("2026-11-24T09:02:03+08:00 (Asia/Shanghai, UTC+08:00, Tuesday)", sut.Now("Asia/Shanghai"));
        Assert.Equal("2026-11-23T20:02:03-05:00 (America/New_York, UTC-05:00, Monday)", sut.Now("America/New_York"));
    }

    [Theory]
    [InlineData("2026-03-01T09:30", "Europe/Paris", "Asia/Shanghai", "2026-03-01T16:30:00+08:00 (Asia/Shanghai, UTC+08:00, Sunday)")]
    [InlineData("2026-07-01T12:00:00Z", null, "Europe/London", "2026-07-01T13:00:00+01:00 (Europe/London, UTC+01:00, Wednesday)")]
    [InlineData("2026-07-01T12:00:00+02:00", "Asia/Tokyo", "UTC", "2026-07-01T10:00:00+00:00 (UTC, UTC+00:00, Wednesday)")]
    [InlineData("2026-01-15T08:00", null, "America/Los_Angeles", "2026-01-15T00:00:00-08:00 (America/Los_Angeles, UTC-08:00, Thursday)")]
    public void Convert_HandlesOffsetsZonesAndDaylightSaving(string time, string? from, string to, string expected)
        => Assert.Equal(expected, ClockTools.Convert(time, to, from));

    [Theory]
    [InlineData("2026-03-01T09:30", "Mars/Olympus", null)]
    [InlineData("yesterday", "UTC", null)]
    [InlineData("2026-03-29T02:30", "UTC", "Europe/Paris")] // inside the spring-forward gap
    public void Convert_BadInput_IsAToolErrorForTheModel(string time, string to, string? from)
        => Assert.Throws<McpException>(() => ClockTools.Convert(time, to, from));

    [Theory]
    [InlineData("", 0, 0, 0)]
    [InlineData("hello", 1, 5, 1)]
    [InlineData("Hello world, it's me", 4, 20, 1)]
    [InlineData("one\ntwo\n", 2, 8, 2)]
    [InlineData("你好世界", 4, 4, 1)]
    [InlineData("mixed 中文 text", 4, 13, 1)]
    [InlineData("e\u0301te\u0301", 1, 3, 1)]
    [InlineData("👋🏽 wave", 1, 6, 1)]
    [InlineData("state-of-the-art", 1, 16, 1)]
    public void WordCount_CountsWordsCharactersAndLines(string text, int words, int characters, int lines)
        => Assert.Equal(new WordCountResult(words, characters, lines), WordCountResult.Of(text));

    [Fact]
    public void Echo_ReturnsTheTextUnchanged()
    {
        const string text = "  ünïcødé \u0000 and \t tabs ";
        Assert.Same(text, TextTools.Echo(text));
    }
}
