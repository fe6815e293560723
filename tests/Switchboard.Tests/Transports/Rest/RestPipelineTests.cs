using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Rest;

/// <summary>REST requests go through the same pipeline as MCP: telemetry, timeouts and cancellation apply unchanged.</summary>
public sealed partial class RestPipelineTests
{
    [Fact]
    public async Task RestCalls_AreCountedInMetrics_WithTransportRest()
    {
        // Servers in one test process share meters by name, so the counted tool is one no other test serves.
        const string plugin = "restmetrics";
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<ProbeTools>(plugin, "1.0.0");
                b.Services.AddSingleton(new ProbeState());
            },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        await RestHttp.CallAsync(http, "restmetrics_add", """{"a":1,"b":2}""");
        await RestHttp.CallAsync(http, "restmetrics_add", """{"a":3,"b":4}""");
        await RestHttp.CallAsync(http, "restmetrics_add", """{"a":"x","b":4}""");
        await RestHttp.CallAsync(http, "restmetrics_nope", "{}");

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(2, Sample(metrics, "switchboard_tool_calls_total", "transport=\"rest\"", "tool=\"restmetrics_add\"", "outcome=\"success\""));
        Assert.Equal(1, Sample(metrics, "switchboard_tool_calls_total", "transport=\"rest\"", "tool=\"restmetrics_add\"", "outcome=\"invalid_arguments\""));
        Assert.Equal(2, Sample(metrics, "switchboard_tool_call_duration_seconds_count", "transport=\"rest\"", "tool=\"restmetrics_add\"", "outcome=\"success\""));
        Assert.DoesNotContain("restmetrics_nope", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolTimeout_Is200IsError()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
                b.Services.AddSingleton(new ProbeState());
            },
            configuration: new Dictionary<string, string?> { ["Switchboard:Plugins:probe:Tools:wait:Timeout"] = "00:00:00.2" },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await RestHttp.CallAsync(http, "probe_wait", "{}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.True(response.Body["isError"]!.GetValue<bool>());
        Assert.Contains("timed out", RestHttp.FirstText(response.Body), StringComparison.Ordinal);
        await server.GetRequiredService<ProbeState>().Cancelled.Task.WaitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task CallerDisconnect_CancelsTheTool()
    {
        var state = new ProbeState();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<ProbeTools>(ProbeTools.PluginName, "1.0.0");
                b.Services.AddSingleton(state);
            },
            cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/tools/probe_wait/call", UriKind.Relative))
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };

        var call = http.SendAsync(request, abort.Token);
        await state.Started.Task.WaitAsync(TestContext.Current.CancellationToken);
        await abort.CancelAsync();

        await state.Cancelled.Task.WaitAsync(TestContext.Current.CancellationToken);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    private static double Sample(string exposition, string metric, params string[] labels)
    {
        foreach (Match match in SampleLine().Matches(exposition))
        {
            if (match.Groups["name"].Value == metric && labels.All(l => match.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"No sample {metric} with {string.Join(",", labels)} in:{Environment.NewLine}{exposition}");
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
