using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// The policy follows the configuration file while the server runs: a valid change takes effect at once (and connected
/// clients are told their tool list changed); an invalid one is refused whole and the last good policy stays in force.
/// </summary>
public sealed class PolicyReloadTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string PolicyFile(string limit, string agentTools = "\"billing/refund\"") => $$"""
        {
          "Switchboard": {
            "Security": {
              "Policy": {
                "Grants": [
                  { "Role": "agent", "Tools": [ {{agentTools}} ], "When": [ "amount <= {{limit}}" ] }
                ]
              }
            }
          }
        }
        """;

    private static async Task WriteAndWaitAsync(string path, string content, Func<PolicyProvider, Task> wait, PolicyProvider provider)
    {
        var waiting = wait(provider);
        await File.WriteAllTextAsync(path, content, Token);
        await waiting.WaitAsync(TimeSpan.FromSeconds(30), Token);
    }

    private static Task NextChange(PolicyProvider provider)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.Changed += (_, _) => changed.TrySetResult();
        return changed.Task;
    }

    private static Task<IReadOnlyList<string>> NextRefusal(PolicyProvider provider)
    {
        var refused = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.ReloadRefused += (_, problems) => refused.TrySetResult(problems);
        return refused.Task;
    }

    [Fact]
    public async Task AValidChangeTakesEffect_AnInvalidOneIsRefusedAndTheLastGoodPolicyStays()
    {
        using var folder = new TemporaryDirectory();
        var config = Path.Combine(folder.Path, "switchboard.json");
        await File.WriteAllTextAsync(config, PolicyFile("100"), Token);
        var ledger = new BillingLedger();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<BillingTools>(BillingTools.PluginName, "1.0.0");
                b.Services.AddSingleton(ledger);
            },
            authenticate: true,
            configFile: config,
            cancellationToken: Token);
        var provider = server.GetRequiredService<PolicyProvider>();
        var agent = server.IssueToken("profile", roles: ["agent"]);
        await using var http = await SecuredClient.ConnectAsync(SecuredTransport.HttpModern, server, agent, Token);
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token, bearerToken: agent);
        await socket.InitializeAsync(Token);
        var refund150 = new JsonObject { ["amount"] = 150, ["currency"] = "EUR" };
        var refund250 = new JsonObject { ["amount"] = 250, ["currency"] = "EUR" };

        Assert.True((await http.CallAsync("billing_refund", refund150, Token)).IsError);
        Assert.Equal(["billing_refund"], await http.ListAsync(Token));

        // A valid change: a higher limit and one more tool. The WebSocket client is told its list changed.
        await WriteAndWaitAsync(config, PolicyFile("200", "\"billing/refund\", \"billing/balance\""), NextChange, provider);
        var pushed = await socket.ReceiveAsync(Token, TimeSpan.FromSeconds(30));
        Assert.Equal("notifications/tools/list_changed", pushed?["method"]?.GetValue<string>());
        Assert.True((await http.CallAsync("billing_refund", refund150, Token)).Succeeded);
        Assert.Equal(["billing_balance", "billing_refund"], (await http.ListAsync(Token)).Order(StringComparer.Ordinal));

        // An invalid change is refused whole, naming each problem; the previous policy stays in force.
        var refusedBefore = provider.RefusedReloads;
        string[] brokenGrant = ["\"billing/refund\", \"not a pattern\""];
        var problems = await RefuseAsync(config, PolicyFile("", brokenGrant[0]), provider);
        Assert.Equal(refusedBefore + 1, provider.RefusedReloads);
        Assert.Contains(problems, p => p.Contains("'not a pattern'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("When rule 'amount <= '", StringComparison.Ordinal));
        Assert.True((await http.CallAsync("billing_refund", refund150, Token)).Succeeded);
        Assert.True((await http.CallAsync("billing_refund", refund250, Token)).IsError);
        Assert.Equal(["billing_balance", "billing_refund"], (await http.ListAsync(Token)).Order(StringComparer.Ordinal));

        // A grant naming neither scope nor role is refused too.
        await RefuseAsync(config, """{ "Switchboard": { "Security": { "Policy": { "Grants": [ { "Tools": [ "*" ] } ] } } } }""", provider);
        Assert.Equal(["billing_balance", "billing_refund"], (await http.ListAsync(Token)).Order(StringComparer.Ordinal));

        // Fixed again: accepted.
        await WriteAndWaitAsync(config, PolicyFile("300"), NextChange, provider);
        Assert.True((await http.CallAsync("billing_refund", refund250, Token)).Succeeded);
        Assert.Equal(["billing_refund"], await http.ListAsync(Token));
    }

    private static async Task<IReadOnlyList<string>> RefuseAsync(string path, string content, PolicyProvider provider)
    {
        var refused = NextRefusal(provider);
        await File.WriteAllTextAsync(path, content, Token);
        return await refused.WaitAsync(TimeSpan.FromSeconds(30), Token);
    }

    [Fact]
    public async Task AnInvalidPolicyAtStart_StopsTheStartNamingEveryProblem()
    {
        var failure = await Assert.ThrowsAsync<SwitchboardStartupException>(() => SwitchboardTestServer.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                ["Switchboard:Security:Policy:Grants:0:Role"] = "agent",
                ["Switchboard:Security:Policy:Grants:0:Scope"] = "also-a-scope",
                ["Switchboard:Security:Policy:Grants:0:Tools:0"] = "billing/refund",
                ["Switchboard:Security:Policy:Grants:1:Role"] = "agent",
                ["Switchboard:Security:Policy:Grants:1:Tools:0"] = "billing/refund",
                ["Switchboard:Security:Policy:Grants:1:When:0"] = "amount ~= 3",
            },
            authenticate: true,
            cancellationToken: Token));

        Assert.Contains("Grants:0 must name exactly one of Scope or Role", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Grants:1:When rule 'amount ~= 3'", failure.Message, StringComparison.Ordinal);
    }
}
