using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>
/// §1.3 K (and the scope cases of H): an authenticated caller tries to reach <c>vault_read</c> with a scope that does
/// not cover it. Over HTTP (MCP and REST) the answer is 403 with <c>error="insufficient_scope"</c> and exactly the scope
/// the call needs; over an open WebSocket (no HTTP status left to send) it is JSON-RPC error -32003 naming that scope.
/// The tool never runs. (Per-tool allow/deny, argument rules, tenants and tools/list filtering are covered by the
/// permission tests; these are the escalation attempts.)
/// </summary>
[Collection(AttackSuiteDefinition.Name)]
public sealed class ScopeEscalationTests(AttackSuiteFixture suite)
{
    private const string Needed = "tools:vault/read";

    public static TheoryData<string, string, AttackTransport> Escalations
    {
        get
        {
            var rows = new TheoryData<string, string, AttackTransport>();
            (string Id, string Scope)[] scopes =
            [
                ("JWT-K01", "tools:vault/write"),
                ("JWT-K01", "tools:text/*"),
                ("JWT-K01", ""),
                ("JWT-K03", "tools:vault/read-all"),
                ("JWT-K03", "tools:vault/readX"),
                ("JWT-K03", "tools:vault/rea*"),
                ("JWT-K03", "tools:vault"),
                ("JWT-K03", "tools:vault/"),
                ("JWT-K03", "tools:*/read"),
                ("JWT-K03", "tools:*/*"),
                ("JWT-K03", "tools:vaul*/*"),
                ("JWT-K03", "tools:**"),
                ("JWT-K03", "tools:vault/*/read"),
                ("JWT-K03", "tools:vault/read/.."),
                ("JWT-K03", "*"),
                ("JWT-K03", "tools"),
                ("JWT-K06", "admin:*"),
                ("JWT-K06", "all"),
                ("JWT-H02", "tools\uFF1Avault/read"),
                ("JWT-H02", "ｔｏｏｌｓ:vault/read"),
                ("JWT-H02", "tools:vault\u2215read"),
                ("JWT-H03", "tools:text/echo\ttools:vault/read"),
                ("JWT-H03", "tools:text/echo,tools:vault/read"),
                ("JWT-H03", "tools:text/echo\u00A0tools:vault/read"),
                ("JWT-H03", "tools:text/echo\u3000tools:vault/read"),
                ("JWT-H05", "Tools:vault/read"),
                ("JWT-H05", "TOOLS:VAULT/READ"),
                ("JWT-H05", "tools:Vault/read"),
                ("JWT-H05", "tools:vault/Read"),
            ];
            foreach (var (id, scope) in scopes)
            {
                foreach (var transport in new[] { AttackTransport.Mcp, AttackTransport.WebSocket, AttackTransport.Rest })
                {
                    rows.Add(id, scope, transport);
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Escalations))]
    public Task Escalation_IsForbidden_WithTheOneScopeNeeded(string id, string scope, AttackTransport transport)
    {
        Assert.StartsWith("JWT-", id, StringComparison.Ordinal);
        return AssertForbiddenAsync(suite.Es256.Token(claims: c => c["scope"] = scope), transport);
    }

    [Theory]
    [InlineData(AttackTransport.Mcp)]
    [InlineData(AttackTransport.WebSocket)]
    [InlineData(AttackTransport.Rest)]
    public Task JWT_K01_NoScopeClaimAtAll_IsForbidden(AttackTransport transport)
        => AssertForbiddenAsync(suite.Es256.Token(claims: c => c.Remove("scope")), transport);

    [Theory]
    [InlineData(AttackTransport.Mcp)]
    [InlineData(AttackTransport.WebSocket)]
    [InlineData(AttackTransport.Rest)]
    public Task JWT_G03_FourHundredScopesNoneCovering_AreEvaluatedAndForbidden(AttackTransport transport)
        => AssertForbiddenAsync(suite.Es256.Token(claims: c => c["scope"] = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"tools:p{i}/t"))), transport);

    [Theory]
    [InlineData(AttackTransport.Mcp, "Vault_Read")]
    [InlineData(AttackTransport.Mcp, "vault_reaD")]
    [InlineData(AttackTransport.Mcp, "vault/read")]
    [InlineData(AttackTransport.Mcp, "vault__read")]
    [InlineData(AttackTransport.WebSocket, "Vault_Read")]
    [InlineData(AttackTransport.WebSocket, "vault_read\u200B")]
    [InlineData(AttackTransport.WebSocket, "vault_rеad")]
    [InlineData(AttackTransport.Rest, "Vault_Read")]
    [InlineData(AttackTransport.Rest, "vault_rеad")]
    public async Task JWT_K04_ToolNameLookAlikes_AreUnknownTools_EvenWithEveryScope(AttackTransport transport, string name)
    {
        var before = suite.Es256.Vault.Calls;

        var observed = await AttackClient.SendAsync(suite.Es256, transport, Presentation.Bearer(suite.Es256.Token(claims: c => c["scope"] = "tools:*")) with { Tool = name }, TestContext.Current.CancellationToken);

        if (transport == AttackTransport.Rest)
        {
            Assert.Equal(404, observed.Status);
        }
        else
        {
            Assert.Equal(transport == AttackTransport.WebSocket ? 101 : 200, observed.Status);
            Assert.Equal(-32602, observed.Json!["error"]!["code"]!.GetValue<int>());
        }

        Assert.Equal(before, suite.Es256.Vault.Calls);
    }

    [Fact]
    public async Task JWT_K01_LegacySessionCall_IsForbiddenAtTheHttpLevelToo()
    {
        var http = suite.Es256.Http;
        var token = suite.Es256.Token(claims: c => c["scope"] = "tools:vault/write");
        var before = suite.Es256.Vault.Calls;
        var sessionId = await InitializeLegacyAsync(http, token);

        using var call = McpHttp.Post(suite.Es256.Server.McpUri, MessageOf("vault_read").ToJsonString(), sessionId, McpHttp.Legacy);
        call.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(call, TestContext.Current.CancellationToken);

        Assert.Equal(403, (int)response.StatusCode);
        Assert.Equal(ForbiddenChallenge, string.Join(", ", response.Headers.GetValues("WWW-Authenticate")));
        Assert.Equal(before, suite.Es256.Vault.Calls);
    }

    [Fact]
    public async Task JWT_K01_ModernCall_WhoseMcpNameHeaderNamesAnAllowedTool_ButWhoseBodyCallsAnother_DoesNotRun()
    {
        var token = suite.Es256.Token(claims: c => c["scope"] = "tools:vault/write");
        var before = suite.Es256.Vault.Calls;
        using var request = McpHttp.ModernRequest(suite.Es256.Server.McpUri, "tools/call", new JsonObject { ["name"] = "vault_read", ["arguments"] = new JsonObject() }, name: "vault_write");
        request.Headers.Authorization = new("Bearer", token);

        using var response = await suite.Es256.Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("-32020", body, StringComparison.Ordinal);
        Assert.Equal(before, suite.Es256.Vault.Calls);
    }

    [Fact]
    public async Task JWT_K06_ProtectedResourceMetadata_AdvertisesPerToolScopes_NeverOmnibusOnes()
    {
        using var response = await suite.Es256.Http.GetAsync(new Uri("/.well-known/oauth-protected-resource/mcp", UriKind.Relative), TestContext.Current.CancellationToken);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        var scopes = document["scopes_supported"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(AttackTarget.Resource, document["resource"]!.GetValue<string>());
        Assert.Contains(Needed, scopes);
        Assert.Contains("tools:vault/*", scopes);
        Assert.DoesNotContain("tools:*", scopes);
        Assert.DoesNotContain("*", scopes);
        Assert.All(scopes, s => Assert.StartsWith("tools:", s, StringComparison.Ordinal));
    }

    private static string ForbiddenChallenge => $"Bearer error=\"insufficient_scope\", scope=\"{Needed}\", resource_metadata=\"{AttackTarget.ResourceMetadata}\"";

    private async Task AssertForbiddenAsync(string token, AttackTransport transport)
    {
        var before = suite.Es256.Vault.Calls;

        var observed = await AttackClient.SendAsync(suite.Es256, transport, Presentation.Bearer(token), TestContext.Current.CancellationToken);

        if (transport == AttackTransport.WebSocket)
        {
            Assert.Equal(101, observed.Status);
            var error = observed.Json!["error"]!;
            Assert.Equal(-32003, error["code"]!.GetValue<int>());
            Assert.Contains($"'{Needed}'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(403, observed.Status);
            Assert.Equal(ForbiddenChallenge, observed.Challenge);
            var message = transport == AttackTransport.Rest ? observed.Json!["detail"] : observed.Json!["error"]!["message"];
            Assert.Contains($"'{Needed}'", message!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(before, suite.Es256.Vault.Calls);
        Assert.Equal(0, suite.Canary.Connections);
    }

    private static JsonObject MessageOf(string tool) => new()
    {
        ["jsonrpc"] = "2.0",
        ["id"] = 2,
        ["method"] = "tools/call",
        ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = new JsonObject() },
    };

    internal static async Task<string> InitializeLegacyAsync(HttpClient http, string token)
    {
        var init = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = 1,
            ["method"] = "initialize",
            ["params"] = new JsonObject
            {
                ["protocolVersion"] = McpHttp.Legacy,
                ["capabilities"] = new JsonObject(),
                ["clientInfo"] = new JsonObject { ["name"] = "attack-suite", ["version"] = "1.0.0" },
            },
        };
        using var request = McpHttp.Post(new Uri(http.BaseAddress!, "/mcp"), init.ToJsonString());
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        var sessionId = response.Headers.GetValues("Mcp-Session-Id").Single();
        using var initialized = McpHttp.Post(new Uri(http.BaseAddress!, "/mcp"), """{"jsonrpc":"2.0","method":"notifications/initialized"}""", sessionId, McpHttp.Legacy);
        initialized.Headers.Authorization = new("Bearer", token);
        using var ack = await http.SendAsync(initialized, TestContext.Current.CancellationToken);
        Assert.Equal(202, (int)ack.StatusCode);
        return sessionId;
    }
}
