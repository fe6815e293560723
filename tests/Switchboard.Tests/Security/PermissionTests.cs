using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// An authenticated server with a policy that exercises every kind of grant: plain tool scopes, a role limited by argument
/// rules, an unlimited role, a named scope with a stricter rule, and a plugin open to one tenant only.
/// </summary>
public sealed class PermissionServerFixture : IAsyncLifetime
{
    public SwitchboardTestServer Server { get; private set; } = null!;

    public BillingLedger Ledger { get; } = new();

    /// <summary>Every tool of the server, as an unrestricted caller of the right tenant sees them.</summary>
    /// <summary>Every tool of this server: the samples, billing, and vault (acme's only).</summary>
    /// <summary>
    /// The tools every caller is probed with: each runs to success in one stateless call when allowed, so a listed tool
    /// that fails is a policy disagreement. (The samples' conversation tools are listed too, but their workflows refuse
    /// calls made out of order, which is not an authorization answer.)
    /// </summary>
    public static readonly string[] ProbeTools = ["billing_balance", "billing_refund", "clock_convert", "clock_now", "text_echo", "text_word_count", "vault_read"];

    public static readonly string[] AllTools = [.. Interop.SwitchboardServeFixture.SampleTools.Concat(["billing_balance", "billing_refund", "vault_read"]).Order(StringComparer.Ordinal)];

    public static IReadOnlyDictionary<string, string?> Policy { get; } = new Dictionary<string, string?>
    {
        ["Switchboard:Security:Policy:Grants:0:Role"] = "agent",
        ["Switchboard:Security:Policy:Grants:0:Tools:0"] = "billing/refund",
        ["Switchboard:Security:Policy:Grants:0:When:0"] = "amount <= 100",
        ["Switchboard:Security:Policy:Grants:0:When:1"] = "currency in [\"EUR\", \"USD\"]",
        ["Switchboard:Security:Policy:Grants:1:Role"] = "supervisor",
        ["Switchboard:Security:Policy:Grants:1:Tools:0"] = "billing/*",
        ["Switchboard:Security:Policy:Grants:2:Scope"] = "refunds:small",
        ["Switchboard:Security:Policy:Grants:2:Tools:0"] = "billing/refund",
        ["Switchboard:Security:Policy:Grants:2:When:0"] = "amount <= 10",
        ["Switchboard:Plugins:vault:Tenants:0"] = "acme",
    };

    public async ValueTask InitializeAsync()
    {
        Server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.AddPlugin<BillingTools>(BillingTools.PluginName, "1.0.0");
                b.AddPlugin<VaultTools>(VaultTools.PluginName, "1.0.0");
                b.Services.AddSingleton(Ledger);
            },
            configuration: Policy,
            authenticate: true,
            cancellationToken: TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Arguments that make each tool succeed when the caller may call it.</summary>
    public static JsonObject ArgumentsFor(string tool) => tool switch
    {
        "billing_refund" => new JsonObject { ["amount"] = 5, ["currency"] = "EUR" },
        "clock_convert" => new JsonObject { ["time"] = "2026-03-01T09:30:00Z", ["toTimeZone"] = "UTC" },
        "text_echo" or "text_word_count" => new JsonObject { ["text"] = "hi" },
        _ => [],
    };
}

/// <summary>
/// One policy decides both <c>tools/list</c> and <c>tools/call</c>, on every transport: a caller sees exactly the tools
/// it may call, a call without a grant is refused before the plugin runs and names the scope it needs, argument rules are
/// evaluated before the plugin runs, and another tenant's tools do not exist for a caller.
/// </summary>
public sealed class PermissionTests(PermissionServerFixture fixture) : IClassFixture<PermissionServerFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private SwitchboardTestServer Server => fixture.Server;

    public static TheoryData<SecuredTransport> Transports => [SecuredTransport.HttpModern, SecuredTransport.HttpLegacy, SecuredTransport.WebSocket, SecuredTransport.Rest];

    /// <summary>Callers described as (scope, roles, tenant) with the tools each must see.</summary>
    public static TheoryData<SecuredTransport, string, string, string, string> Callers()
    {
        var callers = new (string Scope, string Roles, string Tenant, string Expected)[]
        {
            ("tools:clock/*", "", "", "clock_convert clock_now"),
            ("tools:text/echo", "", "", "text_echo"),
            ("tools:text/echo tools:clock/now", "", "", "clock_now text_echo"),
            ("profile", "agent", "", "billing_refund"),
            ("profile", "supervisor", "", "billing_balance billing_refund"),
            ("refunds:small", "", "", "billing_refund"),
            ("tools:*", "", "", string.Join(' ', PermissionServerFixture.AllTools.Where(t => t != "vault_read"))),
            ("tools:*", "", "acme", string.Join(' ', PermissionServerFixture.AllTools)),
            ("tools:vault/*", "", "globex", ""),
            ("tools:vault/read", "", "acme", "vault_read"),
            ("TOOLS:* tools:Clock/* tools:clock/NOW tools:clock,tools:text/*", "", "", ""),
            ("profile", "Agent", "", ""),
        };
        var data = new TheoryData<SecuredTransport, string, string, string, string>();
        foreach (var transport in Transports)
        {
            foreach (var (scope, roles, tenant, expected) in callers)
            {
                data.Add(transport, scope, roles, tenant, expected);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task ToolsList_ShowsExactlyTheToolsTheCallerMayCall(SecuredTransport transport, string scope, string roles, string tenant, string expected)
    {
        var token = Server.IssueToken(scope, roles: roles.Length == 0 ? null : roles.Split(' '), tenant: tenant.Length == 0 ? null : tenant);
        await using var client = await SecuredClient.ConnectAsync(transport, Server, token, Token);

        var listed = await client.ListAsync(Token);

        Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries), listed.Order(StringComparer.Ordinal));

        // The same policy decides calls: every listed tool runs, every other tool is refused without running.
        foreach (var tool in PermissionServerFixture.ProbeTools)
        {
            var refundsBefore = fixture.Ledger.Refunds;
            var vaultBefore = fixture.Ledger.VaultReads;
            var answer = await client.CallAsync(tool, PermissionServerFixture.ArgumentsFor(tool), Token);
            if (listed.Contains(tool))
            {
                Assert.True(answer.Succeeded, $"{tool} is listed but the call failed: {answer}");
            }
            else
            {
                Assert.False(answer.Succeeded, $"{tool} is not listed but the call ran: {answer}");
                Assert.True(answer.MissingScope || answer.UnknownTool, $"{tool}: unexpected refusal {answer}");
                Assert.Equal(refundsBefore, fixture.Ledger.Refunds);
                Assert.Equal(vaultBefore, fixture.Ledger.VaultReads);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task CallWithoutGrant_IsRefusedNamingTheScope_AndNothingRuns(SecuredTransport transport)
    {
        var token = Server.IssueToken("tools:clock/*");
        await using var client = await SecuredClient.ConnectAsync(transport, Server, token, Token);
        var before = fixture.Ledger.Refunds;

        var answer = await client.CallAsync("billing_refund", new JsonObject { ["amount"] = 1, ["currency"] = "EUR" }, Token);

        Assert.True(answer.MissingScope, answer.ToString());
        Assert.Equal(before, fixture.Ledger.Refunds);
        var message = answer.ErrorMessage ?? string.Empty;
        Assert.Contains("tools:billing/refund", message, StringComparison.Ordinal);
        if (transport is SecuredTransport.HttpModern or SecuredTransport.HttpLegacy or SecuredTransport.Rest)
        {
            // HTTP callers get the runtime step-up challenge (MCP authorization, RFC 6750 §3.1).
            Assert.Equal(403, answer.HttpStatus);
            Assert.NotNull(answer.WwwAuthenticate);
            Assert.Contains("error=\"insufficient_scope\"", answer.WwwAuthenticate, StringComparison.Ordinal);
            Assert.Contains("scope=\"tools:billing/refund\"", answer.WwwAuthenticate, StringComparison.Ordinal);
            Assert.Contains("resource_metadata=\"", answer.WwwAuthenticate, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(-32003, answer.ErrorCode);
        }
    }

    [Theory]
    [InlineData(SecuredTransport.HttpModern, 100, "EUR", true)]
    [InlineData(SecuredTransport.HttpModern, 100.01, "EUR", false)]
    [InlineData(SecuredTransport.HttpModern, 5, "GBP", false)]
    [InlineData(SecuredTransport.HttpLegacy, 99, "USD", true)]
    [InlineData(SecuredTransport.HttpLegacy, 150, "USD", false)]
    [InlineData(SecuredTransport.WebSocket, 0, "EUR", true)]
    [InlineData(SecuredTransport.WebSocket, 1000, "EUR", false)]
    [InlineData(SecuredTransport.Rest, 50, "USD", true)]
    [InlineData(SecuredTransport.Rest, 101, "USD", false)]
    public async Task ArgumentRules_DecideBeforeThePluginRuns(SecuredTransport transport, double amount, string currency, bool allowed)
    {
        var token = Server.IssueToken("profile", roles: ["agent"]);
        await using var client = await SecuredClient.ConnectAsync(transport, Server, token, Token);
        var before = fixture.Ledger.Refunds;

        var answer = await client.CallAsync("billing_refund", new JsonObject { ["amount"] = amount, ["currency"] = currency }, Token);

        if (allowed)
        {
            Assert.True(answer.Succeeded, answer.ToString());
            Assert.Equal(before + 1, fixture.Ledger.Refunds);
        }
        else
        {
            // A rule refusal is a tool error the model can act on: it names the rule and the grant, not other policy.
            Assert.Equal(200, answer.HttpStatus);
            Assert.True(answer.IsError, answer.ToString());
            Assert.Contains("Refused by policy", answer.Text, StringComparison.Ordinal);
            Assert.Contains("role agent", answer.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("supervisor", answer.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("refunds:small", answer.Text, StringComparison.Ordinal);
            Assert.Equal(before, fixture.Ledger.Refunds);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ADifferentRoleOrScope_HasItsOwnLimits(SecuredTransport transport)
    {
        var supervisor = await SecuredClient.ConnectAsync(transport, Server, Server.IssueToken("profile", roles: ["supervisor"]), Token);
        var small = await SecuredClient.ConnectAsync(transport, Server, Server.IssueToken("refunds:small"), Token);
        var both = await SecuredClient.ConnectAsync(transport, Server, Server.IssueToken("refunds:small", roles: ["agent"]), Token);
        await using (supervisor)
        await using (small)
        await using (both)
        {
            var large = new JsonObject { ["amount"] = 5000, ["currency"] = "JPY" };
            Assert.True((await supervisor.CallAsync("billing_refund", large, Token)).Succeeded);

            Assert.True((await small.CallAsync("billing_refund", new JsonObject { ["amount"] = 10, ["currency"] = "JPY" }, Token)).Succeeded);
            var refused = await small.CallAsync("billing_refund", new JsonObject { ["amount"] = 11, ["currency"] = "JPY" }, Token);
            Assert.True(refused.IsError);
            Assert.Contains("amount <= 10", refused.Text, StringComparison.Ordinal);

            // Grants add up: any covering grant whose rules hold allows the call.
            Assert.True((await both.CallAsync("billing_refund", new JsonObject { ["amount"] = 60, ["currency"] = "EUR" }, Token)).Succeeded);
            Assert.True((await both.CallAsync("billing_refund", new JsonObject { ["amount"] = 3, ["currency"] = "JPY" }, Token)).Succeeded);
            Assert.True((await both.CallAsync("billing_refund", new JsonObject { ["amount"] = 60, ["currency"] = "JPY" }, Token)).IsError);
        }
    }

    [Theory]
    [InlineData(SecuredTransport.HttpModern)]
    [InlineData(SecuredTransport.HttpLegacy)]
    [InlineData(SecuredTransport.WebSocket)]
    [InlineData(SecuredTransport.Rest)]
    public async Task AnotherTenantsTool_AnswersExactlyLikeAToolThatDoesNotExist(SecuredTransport transport)
    {
        // Even with every scope, a caller of another tenant must not learn that the vault plugin exists.
        await using var client = await SecuredClient.ConnectAsync(transport, Server, Server.IssueToken("tools:*", tenant: "globex"), Token);
        var before = fixture.Ledger.VaultReads;

        var foreign = await client.CallAsync("vault_read", [], Token);
        var missing = await client.CallAsync("vaulx_read", [], Token);

        Assert.True(foreign.UnknownTool, foreign.ToString());
        Assert.Equal(missing.HttpStatus, foreign.HttpStatus);
        Assert.Equal(missing.ErrorCode, foreign.ErrorCode);
        Assert.Equal(missing.WwwAuthenticate, foreign.WwwAuthenticate);
        Assert.Equal(missing.ErrorMessage?.Replace("vaulx_read", "vault_read", StringComparison.Ordinal), foreign.ErrorMessage);
        Assert.Equal(before, fixture.Ledger.VaultReads);
    }

    [Fact]
    public async Task TheRightTenant_CallsItsTool()
    {
        await using var client = await SecuredClient.ConnectAsync(SecuredTransport.HttpModern, Server, Server.IssueToken("tools:vault/*", tenant: "acme"), Token);
        var before = fixture.Ledger.VaultReads;

        var answer = await client.CallAsync("vault_read", [], Token);

        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal("vault contents", answer.Text);
        Assert.Equal(before + 1, fixture.Ledger.VaultReads);
    }
}
