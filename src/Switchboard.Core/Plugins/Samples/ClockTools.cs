using System.ComponentModel;
using System.Globalization;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Samples;

/// <summary>The <c>clock</c> sample plugin: the current time and time-zone conversion, using IANA zone names.</summary>
[McpServerToolType]
public sealed class ClockTools(TimeProvider timeProvider)
{
    public const string PluginName = "clock";
    public const string PluginVersion = "1.0.0";

    [McpServerTool(Name = "now", Title = "Current time", ReadOnly = true, Idempotent = false, OpenWorld = false)]
    [Description("Returns the current date and time in ISO 8601 form, in the given time zone (UTC when none is given).")]
    public string Now(
        [Description("IANA time zone name such as 'Europe/Paris' or 'Asia/Shanghai'. Defaults to UTC.")] string? timeZone = null)
    {
        var zone = FindZone(timeZone ?? "UTC", nameof(timeZone));
        var now = TimeZoneInfo.ConvertTime(timeProvider.GetUtcNow(), zone);
        return Describe(now, zone);
    }

    [McpServerTool(Name = "convert", Title = "Convert a time between time zones", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Converts a date and time from one time zone to another. Times with an explicit UTC offset ignore fromTimeZone.")]
    public static string Convert(
        [Description("The date and time in ISO 8601 form, for example '2026-03-01T09:30' or '2026-03-01T09:30:00+01:00'.")] string time,
        [Description("IANA time zone name the target is wanted in, for example 'America/New_York'.")] string toTimeZone,
        [Description("IANA time zone name of 'time' when it carries no UTC offset. Defaults to UTC.")] string? fromTimeZone = null)
    {
        var target = FindZone(toTimeZone, nameof(toTimeZone));
        DateTimeOffset instant;
        if (HasOffset(time) && DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
        {
            instant = withOffset;
        }
        else if (DateTime.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            var source = FindZone(fromTimeZone ?? "UTC", nameof(fromTimeZone));
            var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
            if (source.IsInvalidTime(unspecified))
            {
                throw new McpException($"{time} does not exist in {source.Id} (it falls in a daylight-saving gap).");
            }

            instant = new DateTimeOffset(unspecified, source.GetUtcOffset(unspecified));
        }
        else
        {
            throw new McpException("'time' is not an ISO 8601 date and time, for example 2026-03-01T09:30.");
        }

        return Describe(TimeZoneInfo.ConvertTime(instant, target), target);
    }

    private static bool HasOffset(string time)
    {
        var tIndex = time.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        if (tIndex < 0)
        {
            return false;
        }

        var clock = time.AsSpan(tIndex);
        return clock.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || clock.Contains('+') || clock.Contains('-');
    }

    private static TimeZoneInfo FindZone(string id, string argument)
    {
        if (string.Equals(id, "UTC", StringComparison.OrdinalIgnoreCase) || string.Equals(id, "Z", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }

        if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
        {
            return zone;
        }

        throw new McpException($"'{argument}' is not a known IANA time zone name (for example 'Europe/Paris').");
    }

    private static string Describe(DateTimeOffset time, TimeZoneInfo zone)
    {
        var offset = time.Offset;
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        var id = zone == TimeZoneInfo.Utc ? "UTC" : zone.Id;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{time:yyyy-MM-dd'T'HH:mm:sszzz} ({id}, UTC{sign}{offset.Duration():hh\\:mm}, {time.DayOfWeek})");
    }
}
