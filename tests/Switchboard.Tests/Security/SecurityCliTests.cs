using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// The operator's commands against a real running server that shares their data folder: tokens issued offline are
/// accepted, key rotation and revocation reach the running server, clients registered on the command line get tokens
/// from the token endpoint and lose them when removed.
/// </summary>
public sealed class SecurityCliTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The server re-reads the ring every second, so changes made by the CLI reach it quickly.</summary>
    private static readonly Dictionary<string, string?> s_fastKeyChecks = new() { ["Switchboard__Security__Keys__CheckInterval"] = "00:00:01" };

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        await using var process = SwitchboardProcess.Start(arguments);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.StandardOutput.Trim(), process.StandardError.Trim());
    }

    private static async Task<SwitchboardProcess> ServeAsync(TemporaryDirectory data)
    {
        var process = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path], s_fastKeyChecks);
        await process.WaitUntilServingAsync(Token);
        return process;
    }

    private static async Task<HttpStatusCode> CallEchoAsync(Uri mcpUri, string accessToken)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var request = McpHttp.ModernRequest(mcpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "hi" } });
        var response = await McpHttp.SendAsync(http, request, Token);
        return (HttpStatusCode)response.Status;
    }

    [Fact]
    public async Task TokenIssue_MintsTokensTheRunningServerAccepts_WithinTheirScope()
    {
        using var data = new TemporaryDirectory();
        await using var server = await ServeAsync(data);

        var issued = await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice", "--scope", "tools:text/*", "--ttl", "10m");

        Assert.Equal(0, issued.ExitCode);
        var accessToken = Assert.Single(issued.Output.Split('\n'));
        Assert.Equal(3, accessToken.Split('.').Length);
        Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, accessToken));

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var clock = await McpHttp.SendAsync(http, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "clock_now", ["arguments"] = new JsonObject() }), Token);
        Assert.Equal(403, clock.Status);

        var tooLong = await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice", "--ttl", "13h");
        Assert.NotEqual(0, tooLong.ExitCode);
        Assert.Empty(tooLong.Output);
        Assert.DoesNotContain("   at ", tooLong.Error, StringComparison.Ordinal);
        var badTtl = await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice", "--ttl", "soon");
        Assert.NotEqual(0, badTtl.ExitCode);
        Assert.Contains("--ttl", badTtl.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRotateAndRevoke_ReachTheRunningServer()
    {
        using var data = new TemporaryDirectory();
        await using var server = await ServeAsync(data);
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        var before = (await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice", "--scope", "tools:*")).Output;
        var firstKid = CompactJwt.KidOf(before);

        var listed = await RunAsync("keys", "list", "--data", data.Path);
        Assert.Equal(0, listed.ExitCode);
        var row = Assert.Single(listed.Output.Split('\n').Skip(1));
        Assert.StartsWith(firstKid, row, StringComparison.Ordinal);
        Assert.Contains(" active ", row, StringComparison.Ordinal);

        // Rotate: the next key is published at once (so caches learn it) but does not sign yet.
        var rotated = await RunAsync("keys", "rotate", "--data", data.Path);
        Assert.Equal(0, rotated.ExitCode);
        var nextKid = rotated.Output.Split(' ')[0];
        Assert.NotEqual(firstKid, nextKid);
        await Eventually.TrueAsync(async () => (await anonymous.GetStringAsync("/.well-known/jwks.json", Token)).Contains(nextKid, StringComparison.Ordinal), "the running server publishes the new key");
        var states = (await RunAsync("keys", "list", "--data", data.Path)).Output;
        Assert.Contains(" pending ", states.Split('\n').Single(l => l.StartsWith(nextKid, StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(firstKid, CompactJwt.KidOf((await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice")).Output));
        Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, before));

        // Revoke the signing key: its tokens are refused at once, the pending key takes over, new tokens work.
        var revoked = await RunAsync("keys", "revoke", firstKid, "--data", data.Path);
        Assert.Equal(0, revoked.ExitCode);
        await Eventually.TrueAsync(async () => await CallEchoAsync(server.McpUri, before) == HttpStatusCode.Unauthorized, "the running server refuses the revoked key's token");
        var after = (await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice", "--scope", "tools:*")).Output;
        Assert.Equal(nextKid, CompactJwt.KidOf(after));
        Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, after));
        Assert.DoesNotContain(firstKid, await anonymous.GetStringAsync("/.well-known/jwks.json", Token), StringComparison.Ordinal);

        var unknown = await RunAsync("keys", "revoke", "no-such-kid", "--data", data.Path);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("no key", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenRevoke_ReachesTheRunningServer_ForThatTokenOnly()
    {
        using var data = new TemporaryDirectory();
        await using var server = await ServeAsync(data);
        var leaked = (await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice")).Output;
        var sibling = (await RunAsync("token", "issue", "--data", data.Path, "--sub", "alice")).Output;
        var byId = (await RunAsync("token", "issue", "--data", data.Path, "--sub", "bob")).Output;
        foreach (var token in new[] { leaked, leaked, sibling, byId })
        {
            Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, token));
        }

        // By the token itself: iss, jti and exp are read from it.
        var revoked = await RunAsync("token", "revoke", leaked, "--reason", "pasted in a ticket", "--data", data.Path);
        Assert.Equal(0, revoked.ExitCode);
        Assert.Contains($"revoked token {CompactJwt.ClaimOf(leaked, "jti")}", revoked.Output, StringComparison.Ordinal);
        await Eventually.TrueAsync(async () => await CallEchoAsync(server.McpUri, leaked) == HttpStatusCode.Unauthorized, "the running server refuses the revoked token");
        Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, sibling));

        // By jti alone: the server's own issuer is assumed.
        var jti = CompactJwt.ClaimOf(byId, "jti");
        Assert.Equal(0, (await RunAsync("token", "revoke", jti, "--data", data.Path)).ExitCode);
        await Eventually.TrueAsync(async () => await CallEchoAsync(server.McpUri, byId) == HttpStatusCode.Unauthorized, "the running server refuses the token revoked by jti");
        Assert.Contains("already revoked", (await RunAsync("token", "revoke", jti, "--data", data.Path)).Output, StringComparison.Ordinal);

        var listed = await RunAsync("token", "revoked", "--data", data.Path);
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains(CompactJwt.ClaimOf(leaked, "jti"), listed.Output, StringComparison.Ordinal);
        Assert.Contains("pasted in a ticket", listed.Output, StringComparison.Ordinal);
        Assert.Contains(jti, listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(CompactJwt.ClaimOf(sibling, "jti"), listed.Output, StringComparison.Ordinal);

        var malformed = await RunAsync("token", "revoke", "not.a.token", "--data", data.Path);
        Assert.NotEqual(0, malformed.ExitCode);
        Assert.Contains("not a JWT", malformed.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", malformed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clients_AddListRemove_GovernTheTokenEndpoint()
    {
        using var data = new TemporaryDirectory();
        await using var server = await ServeAsync(data);
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        var added = await RunAsync("clients", "add", "ci-bot", "--scope", "tools:text/*", "--tenant", "acme", "--role", "agent", "--role", "auditor", "--data", data.Path);
        Assert.Equal(0, added.ExitCode);
        var secret = added.Output.Split('\n').Single(l => l.StartsWith("client_secret:", StringComparison.Ordinal))["client_secret:".Length..].Trim();
        Assert.True(secret.Length >= 32, "the secret is long enough to resist guessing");

        var listed = await RunAsync("clients", "list", "--data", data.Path);
        Assert.Contains("ci-bot\tscopes: tools:text/*\ttenant: acme\troles: agent,auditor", listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed.Output, StringComparison.Ordinal);

        // The store keeps only a hash: the secret is nowhere in the database file.
        var database = await File.ReadAllBytesAsync(Path.Combine(data.Path, "switchboard.db"), Token);
        Assert.DoesNotContain(secret, Encoding.UTF8.GetString(database), StringComparison.Ordinal);

        async Task<HttpStatusCode> AskAsync()
        {
            using var response = await http.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = "ci-bot",
                ["client_secret"] = secret,
            }), Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var token = JsonNode.Parse(await response.Content.ReadAsStringAsync(Token))!["access_token"]!.GetValue<string>();
                Assert.Equal(HttpStatusCode.OK, await CallEchoAsync(server.McpUri, token));
            }

            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await AskAsync());
        var duplicate = await RunAsync("clients", "add", "ci-bot", "--scope", "tools:*", "--data", data.Path);
        Assert.NotEqual(0, duplicate.ExitCode);

        Assert.Equal(0, (await RunAsync("clients", "remove", "ci-bot", "--data", data.Path)).ExitCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await AskAsync());
        var again = await RunAsync("clients", "remove", "ci-bot", "--data", data.Path);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("no client", again.Error, StringComparison.Ordinal);

        var badId = await RunAsync("clients", "add", "bad id!", "--scope", "tools:*", "--data", data.Path);
        Assert.NotEqual(0, badId.ExitCode);
    }
}
