using System.Globalization;
using System.Text;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Reports;

/// <summary>Markdown rows for load results, in the source article's column order with the percentiles it lacked.</summary>
internal static class ResultFormatter
{
    public const string TableHeader =
        "| server | transport | load | throughput | mean | p50 | p90 | p99 | max | errors | server CPU | server peak RSS | loadavg before → after |\n" +
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

    public static string Row(LoadResult result, string? serverLabel = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var l = result.Latency;
        return string.Create(CultureInfo.InvariantCulture, $"| {serverLabel ?? result.Server} | {result.TransportDescription} | {result.LoadDescription} | {result.Throughput:N0} req/s | {Ms(l.MeanMs)} | {Ms(l.P50Ms)} | {Ms(l.P90Ms)} | {Ms(l.P99Ms)} | {Ms(l.MaxMs)} | {Errors(result)} | {Percent(result.CpuPercent)} | {MiB(result.PeakRssMiB)} | {result.LoadAverageBefore ?? "n/a"} → {result.LoadAverageAfter ?? "n/a"} |");
    }

    public static string Errors(LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder(result.Errors.ToString("N0", CultureInfo.InvariantCulture));
        if (result.ErrorKinds.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", result.ErrorKinds.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Key} {k.Value}"))).Append(')');
        }

        if (result.WarmupErrors > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {result.WarmupErrors} before the window");
        }

        return text.ToString();
    }

    public static string Ms(double value) => value switch
    {
        0 => "–",
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{value:0.00} ms"),
        < 100 => string.Create(CultureInfo.InvariantCulture, $"{value:0.0} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value:N0} ms"),
    };

    public static string Percent(double? value) => value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0}%") : "n/a";

    public static string MiB(double? value) => value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0} MiB") : "n/a";

    /// <summary>A one-line summary for the console.</summary>
    public static string Line(LoadResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var l = result.Latency;
        return string.Create(CultureInfo.InvariantCulture, $"{result.Server} {result.Transport} {result.LoadDescription}: {result.Throughput:N0} req/s, p50 {Ms(l.P50Ms)}, p90 {Ms(l.P90Ms)}, p99 {Ms(l.P99Ms)}, max {Ms(l.MaxMs)}, errors {Errors(result)}, server CPU {Percent(result.CpuPercent)}, peak RSS {MiB(result.PeakRssMiB)}, client CPU {Percent(result.ClientCpuPercent)}");
    }
}
