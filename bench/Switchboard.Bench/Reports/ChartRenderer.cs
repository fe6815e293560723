using ScottPlot;
using SkiaSharp;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Reports;

/// <summary>
/// The results chart: throughput per server and transport on top, latency percentiles (p50, p90, p99; log scale) below,
/// one bar group per run, in the order of the table. Rendered headless with ScottPlot on SkiaSharp.
/// </summary>
internal static class ChartRenderer
{
    private const int Width = 1600;
    private const int PanelHeight = 720;

    public static void Render(IReadOnlyList<LoadResult> results, string title, string path)
    {
        ArgumentNullException.ThrowIfNull(results);
        var labels = results.Select(Label).ToArray();
        var positions = Enumerable.Range(0, results.Count).Select(i => (double)i).ToArray();
        var palette = new ScottPlot.Palettes.Category10();

        var throughput = new Plot();
        var bars = new List<Bar>();
        for (var i = 0; i < results.Count; i++)
        {
            bars.Add(new Bar
            {
                Position = i,
                Value = results[i].Throughput,
                FillColor = palette.GetColor(ServerIndex(results, i)),
                Label = results[i].Throughput.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        var throughputBars = throughput.Add.Bars(bars);
        throughputBars.ValueLabelStyle.FontSize = 11;
        throughput.Title(title + " — throughput (successful tools/call per second)");
        throughput.YLabel("req/s");
        throughput.Axes.Bottom.SetTicks(positions, labels);
        throughput.Axes.Bottom.TickLabelStyle.Rotation = 35;
        throughput.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        throughput.Axes.Bottom.MinimumSize = 230;
        throughput.Axes.Margins(bottom: 0, top: 0.15);

        var latency = new Plot();
        var percentiles = new (string Name, Func<LatencySummary, double> Value, Color Color)[]
        {
            ("p50", l => l.P50Ms, Colors.SteelBlue),
            ("p90", l => l.P90Ms, Colors.Orange),
            ("p99", l => l.P99Ms, Colors.Crimson),
        };
        var latencyBars = new List<Bar>();
        const double groupWidth = 0.8;
        var barWidth = groupWidth / percentiles.Length;
        for (var i = 0; i < results.Count; i++)
        {
            for (var p = 0; p < percentiles.Length; p++)
            {
                var ms = Math.Max(percentiles[p].Value(results[i].Latency), 0.01);
                latencyBars.Add(new Bar
                {
                    Position = i - (groupWidth / 2) + (barWidth * (p + 0.5)),
                    Value = Math.Log10(ms) + 2, // bars start at 0.01 ms
                    Size = barWidth * 0.95,
                    FillColor = percentiles[p].Color,
                });
            }
        }

        latency.Add.Bars(latencyBars);
        foreach (var (name, _, color) in percentiles)
        {
            latency.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = color });
        }

        latency.ShowLegend(Alignment.UpperLeft);
        latency.Title("latency of successful calls (log scale)");
        latency.YLabel("ms");
        var ticks = new[] { 0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
        latency.Axes.Left.SetTicks(
            ticks.Select(t => Math.Log10(t) + 2).ToArray(),
            ticks.Select(t => t.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        latency.Axes.Bottom.SetTicks(positions, labels);
        latency.Axes.Bottom.TickLabelStyle.Rotation = 35;
        latency.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        latency.Axes.Bottom.MinimumSize = 230;
        var highest = results.Count == 0 ? 1 : results.Max(r => Math.Max(r.Latency.P99Ms, 0.01));
        latency.Axes.SetLimitsY(0, Math.Log10(highest) + 2.4);
        latency.Axes.SetLimitsX(-0.6, Math.Max(results.Count - 0.4, 0.6));

        using var top = SKBitmap.Decode(throughput.GetImageBytes(Width, PanelHeight, ImageFormat.Png));
        using var bottom = SKBitmap.Decode(latency.GetImageBytes(Width, PanelHeight, ImageFormat.Png));
        using var surface = SKSurface.Create(new SKImageInfo(Width, PanelHeight * 2));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawBitmap(top, 0, 0);
        surface.Canvas.DrawBitmap(bottom, 0, PanelHeight);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static string Label(LoadResult result)
        => $"{result.Server} · {result.Transport} · {result.Connections}{(result.InFlight > 1 || result.Transport.Contains("ws", StringComparison.Ordinal) ? "×" + result.InFlight : string.Empty)}";

    private static int ServerIndex(IReadOnlyList<LoadResult> results, int index)
    {
        var servers = new List<string>();
        foreach (var result in results)
        {
            if (!servers.Contains(result.Server))
            {
                servers.Add(result.Server);
            }
        }

        return servers.IndexOf(results[index].Server);
    }
}
