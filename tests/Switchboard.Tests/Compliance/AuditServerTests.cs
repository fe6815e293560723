using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance.Audit;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// The audit log in a running server: fail closed when the log cannot be written, caller identity in records with
/// authentication on, the <c>audit:read</c> scope on proofs, and records of lists and unknown tools.
/// </summary>
public sealed class AuditServerTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<JsonObject> RecordAsync(SwitchboardTestServer server, long seq)
    {
        var store = server.GetRequiredService<AuditLog>().Store;
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        var row = await AuditStore.ReadRecordAsync(connection, seq, Token);
        return JsonNode.Parse(row!.Record)!.AsObject();
    }

    [Theory]
    [InlineData(null, 2)]
    [InlineData("true", 2)]
    [InlineData("false", 1)]
    public async Task TheAuditDatabase_FsyncsEveryCommit_UnlessTheOperatorTradesPowerLossSafetyAway(string? survivesPowerLoss, long synchronous)
    {
        var configuration = new Dictionary<string, string?>();
        if (survivesPowerLoss is not null)
        {
            configuration["Switchboard:Compliance:Audit:SurvivesPowerLoss"] = survivesPowerLoss;
        }

        await using var server = await SwitchboardTestServer.StartAsync(configuration: configuration, cancellationToken: Token);
        using var http = server.CreateHttpClient();
        var response = await McpHttp.SendAsync(
            http,
            McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "durable" } }),
            Token);
        Assert.Equal("durable", response.Message!["result"]!["content"]![0]!["text"]!.GetValue<string>());

        // The writer's connection is private to it; this connection is opened by the same store method with the same
        // pragmas (FULL, 2: fsync each commit; NORMAL, 1: only at checkpoints). That the writer's commits then survive a
        // killed process in both modes is AuditProcessTests' kill -9 theory.
        var store = server.GetRequiredService<AuditLog>().Store;
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(5), Token);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        Assert.Equal(synchronous, (long)(await command.ExecuteScalarAsync(Token))!);
        Assert.Equal(survivesPowerLoss != "false", store.SurvivesPowerLoss);
        Assert.Contains(await server.ReadAuditRecordsAsync(), r => r["kind"]!.GetValue<string>() == "call.intent");
    }

    [Fact]
    public async Task WhenTheIntentCannotBeWritten_TheCallIsRefused_AndThePluginDoesNotRun_ThenServiceResumes()
    {
        var state = new ComplianceProbeState();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(state);
                b.AddPlugin<ComplianceProbeTools>("probe", "1.0.0");
            },
            // Short enough to keep the locked phase brief, long enough that the start record and the call after the unlock
            // (queued behind the locked batch and the first checkpoint) are written on a starved machine.
            configuration: new Dictionary<string, string?> { ["Switchboard:Compliance:Audit:WriteTimeout"] = "00:00:02" },
            cancellationToken: Token);
        using var http = server.CreateHttpClient();
        JsonObject Call(string text) => new() { ["name"] = "probe_receive", ["arguments"] = new JsonObject { ["text"] = text } };

        // Another writer holds the audit file's write lock, as a stuck disk or a competing process would.
        await using (var blocker = new SqliteConnection($"Data Source={server.GetRequiredService<AuditLog>().Store.FilePath};Pooling=False"))
        {
            await blocker.OpenAsync(Token);
            await using (var write = blocker.CreateCommand())
            {
                write.CommandText = "BEGIN IMMEDIATE; INSERT INTO audit_schema_migrations (version, name) VALUES (999, 'lock');";
                await write.ExecuteNonQueryAsync(Token);
            }

            var refused = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", Call("while locked")), Token);

            Assert.Equal(-32603, refused.ErrorCode);
            Assert.Contains("audit log is unavailable", refused.Error["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Null(state.ReceivedWith("while locked"));
            await using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync(Token);
        }

        var accepted = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", Call("after unlock")), Token);
        Assert.Equal("received", accepted.Result["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("after unlock", state.ReceivedWith("after unlock"));
    }

    [Fact]
    public async Task WithAuthenticationOn_RecordsNameThePrincipalClientAndTenant_AndProofsNeedTheAuditReadScope()
    {
        await using var server = await SwitchboardTestServer.StartAsync(authenticate: true, cancellationToken: Token);
        var issuer = server.GetRequiredService<AccessTokenIssuer>();
        var caller = issuer.Issue(new TokenRequest("alice", "client-7", "tools:text/*", Tenant: "acme")).AccessToken;
        var auditor = issuer.Issue(new TokenRequest("auditor", "audit-cli", "audit:read")).AccessToken;
        using var http = server.CreateHttpClient();

        var request = McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "hi" } });
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", caller);
        var response = await McpHttp.SendAsync(http, request, Token);
        var seq = response.Result["_meta"]![AuditStage.MetaKey]!.GetValue<long>();

        var record = await RecordAsync(server, seq);
        Assert.Equal("alice", record["principal"]!.GetValue<string>());
        Assert.Equal("client-7", record["client"]!.GetValue<string>());
        Assert.Equal("acme", record["tenant"]!.GetValue<string>());
        Assert.DoesNotContain(caller, record.ToJsonString(), StringComparison.Ordinal);

        async Task<HttpStatusCode> ProofStatusAsync(string? token)
        {
            using var proof = new HttpRequestMessage(HttpMethod.Get, new Uri($"/audit/proof/{seq}", UriKind.Relative));
            if (token is not null)
            {
                proof.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var result = await http.SendAsync(proof, Token);
            return result.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await ProofStatusAsync(null));
        Assert.Equal(HttpStatusCode.Forbidden, await ProofStatusAsync(caller));
        Assert.Equal(HttpStatusCode.OK, await ProofStatusAsync(auditor));
    }

    [Fact]
    public async Task ListsUnknownToolsAndDenials_AreRecorded_AndAnUnknownNameIsMasked()
    {
        await using var server = await SwitchboardTestServer.StartAsync(authenticate: true, cancellationToken: Token);
        var issuer = server.GetRequiredService<AccessTokenIssuer>();
        var narrow = issuer.Issue(new TokenRequest("bob", "client-8", "tools:clock/*")).AccessToken;
        using var http = server.CreateHttpClient();

        async Task SendAsync(string method, JsonObject? parameters)
        {
            var request = McpHttp.ModernRequest(server.McpUri, method, parameters);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", narrow);
            await McpHttp.SendAsync(http, request, Token);
        }

        await SendAsync("tools/list", null);
        await SendAsync("tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "x" } });
        await SendAsync("tools/call", new JsonObject { ["name"] = "bob@example.com", ["arguments"] = new JsonObject() });

        var records = await server.ReadAuditRecordsAsync();
        Assert.Contains(records, r => r["kind"]!.GetValue<string>() == "list" && r["principal"]?.GetValue<string>() == "bob");
        Assert.Contains(records, r => r["kind"]!.GetValue<string>() == "call" && r["decision"]?.GetValue<string>() == "denied" && r["tool"]?.GetValue<string>() == "text_echo");
        var unknown = Assert.Single(records, r => r["decision"]?.GetValue<string>() == "unknown_tool");
        Assert.DoesNotContain("bob@example.com", unknown.ToJsonString(), StringComparison.Ordinal);
    }
}
