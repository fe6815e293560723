using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Security;
using Switchboard.Tests.Security.Support;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>
/// Attack cases that need more than one request, a raw socket, or the clock: sessions never authenticate (I04), a session
/// is bound to its caller (I05), header bytes HttpClient refuses to send (A07, I03), the unknown-kid flood (C12), and
/// time sweeps on the server's own clock (D02, D09), including the end of a WebSocket connection at its token's expiry.
/// </summary>
[Collection(AttackSuiteDefinition.Name)]
public sealed class WireAndSessionAttackTests(AttackSuiteFixture suite)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private AttackTarget Target => suite.Es256;

    [Fact]
    public async Task JWT_I04_ASessionIdWithoutAToken_IsNoCredentials_TheSessionNeverAuthenticates()
    {
        var sessionId = await ScopeEscalationTests.InitializeLegacyAsync(Target.Http, Target.Token());
        var before = Target.Vault.Calls;

        using var call = McpHttp.Post(Target.Server.McpUri, CallOf("vault_read"), sessionId, McpHttp.Legacy);
        using var response = await Target.Http.SendAsync(call, Token);

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal(AttackAssert.NoCredentialsChallenge, string.Join(", ", response.Headers.GetValues("WWW-Authenticate")));
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Fact]
    public async Task JWT_I05_AnotherUsersValidToken_CannotUseASession_ItDidNotOpen()
    {
        var sessionId = await ScopeEscalationTests.InitializeLegacyAsync(Target.Http, Target.Token());
        var mallory = Target.Token(claims: c => c["sub"] = "mallory");
        var before = Target.Vault.Calls;

        using var call = McpHttp.Post(Target.Server.McpUri, CallOf("vault_read"), sessionId, McpHttp.Legacy);
        call.Headers.Authorization = new("Bearer", mallory);
        using var response = await Target.Http.SendAsync(call, Token);

        Assert.Equal(403, (int)response.StatusCode);
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Theory]
    [InlineData("/mcp")]
    [InlineData("/v1/tools/vault_read/call")]
    public async Task JWT_I03_TwoAuthorizationHeaderLines_AreMalformed400(string path)
    {
        var token = Target.Token();
        var before = Target.Vault.Calls;

        var response = await RawHttp.SendAsync(Target.Server.BaseUri, $"POST {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream", CallOf("vault_read"), Token);

        Assert.Equal(400, response.Status);
        Assert.Equal(AttackAssert.Challenge("invalid_request"), response.Header("WWW-Authenticate"));
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Theory]
    [InlineData("line folding (CRLF + space) inside the token", "\r\n ")]
    [InlineData("a bare CR inside the token", "\r")]
    [InlineData("a bare LF inside the token", "\n")]
    [InlineData("a NUL inside the token", "\0")]
    public async Task JWT_A07_ControlCharactersInsideTheAuthorizationHeader_AreRefusedByKestrelWith400(string what, string inserted)
    {
        Assert.NotEmpty(what);
        var token = Target.Token();
        var before = Target.Vault.Calls;

        var response = await RawHttp.SendAsync(Target.Server.BaseUri, $"POST /v1/tools/vault_read/call HTTP/1.1\r\nAuthorization: Bearer {token[..40]}{inserted}{token[40..]}\r\nContent-Type: application/json", "{}", Token);

        Assert.Equal(400, response.Status);
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Fact]
    public async Task JWT_I03_AWebSocketOfferingOnlyTheBearerSubprotocol_IsNotUpgraded_AndTheTokenIsNeverEchoed()
    {
        var token = Target.Token();
        var before = Target.Vault.Calls;
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.AddSubProtocol("bearer." + token);

        // Were the server to select the only entry offered, the client would accept it: the echo would show here.
        var upgraded = true;
        try
        {
            await socket.ConnectAsync(McpWebSocket.EndpointOf(Target.Server.BaseUri), Token);
        }
        catch (WebSocketException)
        {
            upgraded = false;
        }

        Assert.False(upgraded);
        Assert.NotEqual(101, (int)socket.HttpStatusCode);
        Assert.DoesNotContain(socket.HttpResponseHeaders ?? new Dictionary<string, IEnumerable<string>>(), h => h.Value.Any(v => v.Contains(token, StringComparison.Ordinal) || v.Contains("bearer.", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Fact]
    public async Task JWT_C12_AFloodOfUnknownKids_IsAllRefused_AndReloadsTheRingAtMostOncePerThrottleWindow()
    {
        var before = Target.Vault.Calls;
        var loads = suite.Es256Store.Loads;

        var first = await FloodAsync(100);
        var afterFirst = suite.Es256Store.Loads;
        var second = await FloodAsync(100);

        Assert.All(first.Concat(second), status => Assert.Equal(401, status));
        Assert.InRange(afterFirst - loads, 0, 1);
        Assert.Equal(afterFirst, suite.Es256Store.Loads);
        Assert.Equal(before, Target.Vault.Calls);
    }

    [Fact]
    public async Task JWT_D09_TheServersClockSweptAcrossNbfAndExp_MovesTheEdgesExactlyBySkew()
    {
        var start = Target.Now.ToUnixTimeSeconds();
        var token = Target.Token(claims: c =>
        {
            c["iat"] = start;
            c["nbf"] = start + 120;
            c["exp"] = start + 240;
        });
        var seen = new List<(long Second, int Status)>();

        foreach (var second in new long[] { 58, 59, 60, 61, 298, 299, 300, 301 })
        {
            Target.Clock.Advance(TimeSpan.FromSeconds(second - (Target.Now.ToUnixTimeSeconds() - start)));
            var observed = await AttackClient.SendAsync(Target, AttackTransport.Rest, Presentation.Bearer(token), Token);
            seen.Add((second, observed.Status));
        }

        // nbf - skew = start + 60 is the first accepted second; exp + skew = start + 300 the first refused one.
        Assert.Equal([(58, 401), (59, 401), (60, 200), (61, 200), (298, 200), (299, 200), (300, 401), (301, 401)], seen);
    }

    [Fact]
    public async Task JWT_D02_WithZeroSkew_ExpEqualToNowIsRefused_AndOneSecondLaterIsAccepted()
    {
        var services = Target.Server.Services;
        var strict = new SecurityOptions { ClockSkew = TimeSpan.Zero, MaxTokenLifetime = AttackTarget.MaxLifetime };
        var validator = new AccessTokenValidator(Target.Ring, services.GetRequiredService<ExternalIssuerKeys>(), services.GetRequiredService<ResourceIdentity>(), services.GetRequiredService<TokenRevocationList>(), Options.Create(strict), Target.Clock);
        var now = Target.Now.ToUnixTimeSeconds();

        var atNow = await validator.ValidateAsync(Target.Token(claims: c => { c["iat"] = now - 60; c["nbf"] = now - 60; c["exp"] = now; }), Token);
        var oneLater = await validator.ValidateAsync(Target.Token(claims: c => { c["iat"] = now - 60; c["nbf"] = now - 60; c["exp"] = now + 1; }), Token);

        Assert.Equal(TokenRejection.Invalid, atNow.Rejection);
        Assert.Null(atNow.Principal);
        Assert.NotNull(oneLater.Principal);
    }

    [Fact]
    public async Task JWT_D01_AnOpenWebSocket_IsClosedWhenItsTokenStopsBeingAccepted_AtExpPlusSkew()
    {
        var exp = Target.Now.AddSeconds(60);
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mcp");
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Target.Token(claims: c => c["exp"] = exp.ToUnixTimeSeconds()));
        await socket.ConnectAsync(McpWebSocket.EndpointOf(Target.Server.BaseUri), Token);

        // One answered message first: the server is then past its set-up (its expiry timer armed) before the clock moves,
        // so the test measures the open connection's expiry, not a race with a loaded machine's scheduling.
        var call = System.Text.Encoding.UTF8.GetBytes(McpWebSocket.Call(1, "text_echo", new System.Text.Json.Nodes.JsonObject { ["text"] = "before expiry" }, McpHttp.ModernMeta()).ToJsonString());
        await socket.SendAsync(call, WebSocketMessageType.Text, endOfMessage: true, Token);
        var answer = await socket.ReceiveAsync(new byte[64 * 1024], Token);
        Assert.Equal(WebSocketMessageType.Text, answer.MessageType);
        var receive = socket.ReceiveAsync(new byte[1024], Token);

        Target.Clock.Advance(TimeSpan.FromSeconds(119));
        Assert.False(receive.IsCompleted);
        Target.Clock.Advance(TimeSpan.FromSeconds(1));
        var closed = await receive.WaitAsync(TimeSpan.FromSeconds(30), Token);

        Assert.Equal(WebSocketMessageType.Close, closed.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
    }

    private async Task<int[]> FloodAsync(int count)
    {
        var tokens = Enumerable.Range(0, count).Select(_ => Target.Token(header: h => h["kid"] = "k" + Guid.NewGuid().ToString("n"))).ToList();
        var observations = await Task.WhenAll(tokens.Select(t => AttackClient.SendAsync(Target, AttackTransport.Rest, Presentation.Bearer(t), Token)));
        return [.. observations.Select(o => o.Status)];
    }

    private static string CallOf(string tool) => new JsonObject
    {
        ["jsonrpc"] = "2.0",
        ["id"] = 7,
        ["method"] = "tools/call",
        ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = new JsonObject() },
    }.ToJsonString();
}
