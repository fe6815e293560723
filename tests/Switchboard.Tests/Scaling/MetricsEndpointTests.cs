using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Scaling;

/// <summary>Prometheus text at /metrics counts tool calls per tool and outcome, with durations.</summary>
public sealed partial class MetricsEndpointTests : IAsyncLifetime
{
    // Servers in one test process export every meter named "Switchboard" in the process, so counts from other tests'
    // servers can add up: this class counts only a plugin name nobody else uses.
    private readonly string _plugin = "m" + Guid.NewGuid().ToString("n")[..12];
    private SwitchboardTestServer _server = null!;
    private HttpClient _http = null!;

    private string Echo => _plugin + "_echo";

    public async ValueTask InitializeAsync()
    {
        _server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<Switchboard.Plugins.Samples.TextTools>(_plugin, "1.0.0"),
            cancellationToken: TestContext.Current.CancellationToken);
        _http = _server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Task<McpHttpResponse> CallAsync(string tool, JsonObject arguments)
        => McpHttp.SendAsync(_http, McpHttp.ModernRequest(_server.McpUri, "tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments }), TestContext.Current.CancellationToken);

    [Fact]
    public async Task Metrics_CountCallsPerToolAndOutcome_AndRecordDurations()
    {
        await CallAsync(Echo, new JsonObject { ["text"] = "a" });
        await CallAsync(Echo, new JsonObject { ["text"] = "b" });
        await CallAsync(Echo, new JsonObject { ["text"] = 1 });
        await CallAsync("no_such_tool", new JsonObject());

        var text = await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(2, Sample(text, "switchboard_tool_calls_total", Echo, "success"));
        Assert.Equal(1, Sample(text, "switchboard_tool_calls_total", Echo, "invalid_arguments"));
        Assert.Equal(2, Sample(text, "switchboard_tool_call_duration_seconds_count", Echo, "success"));
        Assert.True(Sample(text, "switchboard_tool_calls_total", "(unknown)", "protocol_error") >= 1);

        // A name the caller invented must never become a label (unbounded cardinality).
        Assert.DoesNotContain("no_such_tool", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AreServedAsPrometheusText()
    {
        using var response = await _http.GetAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    /// <summary>
    /// The framework's instruments run under smaller cardinality limits (<c>MetricCardinality</c>): they must still be
    /// exported, with their attributes.
    /// </summary>
    [Fact]
    public async Task Metrics_KeepTheFrameworksRequestAndConnectionInstruments_UnderTheirSmallerLimits()
    {
        await CallAsync(Echo, new JsonObject { ["text"] = "a" });
        using (await _http.GetAsync(new Uri("/healthz", UriKind.Relative), TestContext.Current.CancellationToken))
        {
        }

        var text = await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Matches(@"(?m)^http_server_request_duration_seconds_count\{[^}]*http_route=""/healthz""[^}]*\} [1-9]", text);
        Assert.Matches(@"(?m)^kestrel_active_connections\{[^}]*\} [0-9]", text);
    }

    private static double Sample(string exposition, string metric, string tool, string outcome)
    {
        foreach (Match match in SampleLine().Matches(exposition))
        {
            var labels = match.Groups["labels"].Value;
            if (match.Groups["name"].Value == metric
                && labels.Contains($"tool=\"{tool}\"", StringComparison.Ordinal)
                && labels.Contains($"outcome=\"{outcome}\"", StringComparison.Ordinal))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"No sample {metric} for tool={tool} outcome={outcome} in:{Environment.NewLine}{exposition}");
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
