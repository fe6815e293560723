using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// How a client that knows nothing finds its way in, as MCP authorization describes it: the 401 challenge points at the
/// protected-resource metadata, which names our authorization server, whose metadata names the token endpoint, which
/// issues a token for registered client credentials; that token then calls tools within the client's registration.
/// </summary>
public sealed class AuthenticationFlowTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Task<SwitchboardTestServer> StartAsync(Action<ISwitchboardBuilder>? configure = null, IReadOnlyDictionary<string, string?>? configuration = null)
        => SwitchboardTestServer.StartAsync(configure, configuration, authenticate: true, cancellationToken: Token);

    [Fact]
    public async Task AClientFollowsTheChallengeToATokenAndCallsATool()
    {
        await using var server = await StartAsync();
        var secret = await server.GetRequiredService<OAuthClientStore>().AddAsync("reporting", "tools:text/*", tenant: null, roles: [], Token);
        using var anonymous = server.CreateHttpClient();

        // 1. Unauthenticated: 401 and a challenge naming the metadata document.
        var refused = await McpHttp.SendAsync(anonymous, McpHttp.ModernRequest(server.McpUri, "tools/list"), Token);
        Assert.Equal(401, refused.Status);
        Assert.Equal(-32001, refused.ErrorCode);
        using var challengeResponse = await anonymous.SendAsync(McpHttp.ModernRequest(server.McpUri, "tools/list"), Token);
        var challenge = Assert.Single(challengeResponse.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.DoesNotContain("error=", challenge.Parameter, StringComparison.Ordinal);
        var metadataUri = Between(challenge.Parameter!, "resource_metadata=\"", "\"");
        Assert.Equal(new Uri(server.BaseUri, "/.well-known/oauth-protected-resource/mcp"), new Uri(metadataUri));

        // 2. Protected-resource metadata (RFC 9728): our resource and the authorization server to ask.
        var resourceMetadata = JsonNode.Parse(await anonymous.GetStringAsync(metadataUri, Token))!.AsObject();
        var resource = resourceMetadata["resource"]!.GetValue<string>();
        Assert.Equal(server.McpUri.ToString().TrimEnd('/'), resource.TrimEnd('/'));
        Assert.Equal(["header"], resourceMetadata["bearer_methods_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.DoesNotContain("tools:*", resourceMetadata["scopes_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("tools:text/echo", resourceMetadata["scopes_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        var issuer = resourceMetadata["authorization_servers"]!.AsArray().Single()!.GetValue<string>();

        // 3. Authorization-server metadata (RFC 8414) at the issuer's well-known location.
        var issuerUri = new Uri(issuer);
        var asMetadata = JsonNode.Parse(await anonymous.GetStringAsync(new Uri(issuerUri, "/.well-known/oauth-authorization-server"), Token))!.AsObject();
        Assert.Equal(issuer, asMetadata["issuer"]!.GetValue<string>());
        Assert.Equal(["client_credentials"], asMetadata["grant_types_supported"]!.AsArray().Select(n => n!.GetValue<string>()));
        var tokenEndpoint = asMetadata["token_endpoint"]!.GetValue<string>();
        var jwksUri = asMetadata["jwks_uri"]!.GetValue<string>();

        // 4. client_credentials with HTTP Basic, for our resource (RFC 8707).
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = "tools:text/echo",
                ["resource"] = resource,
            }),
        };
        tokenRequest.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("reporting:" + secret)));
        using var tokenResponse = await anonymous.SendAsync(tokenRequest, Token);
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        Assert.Equal("no-store", tokenResponse.Headers.CacheControl?.ToString());
        var issued = JsonNode.Parse(await tokenResponse.Content.ReadAsStringAsync(Token))!.AsObject();
        Assert.Equal("Bearer", issued["token_type"]!.GetValue<string>());
        Assert.Equal("tools:text/echo", issued["scope"]!.GetValue<string>());
        Assert.InRange(issued["expires_in"]!.GetValue<long>(), 1, 3600);
        var accessToken = issued["access_token"]!.GetValue<string>();

        // The token names the key that signed it, and that key is in the JWKS.
        var kid = JsonNode.Parse(Base64UrlDecode(accessToken.Split('.')[0]))!["kid"]!.GetValue<string>();
        var jwks = JsonNode.Parse(await anonymous.GetStringAsync(jwksUri, Token))!["keys"]!.AsArray();
        Assert.Contains(kid, jwks.Select(k => k!["kid"]!.GetValue<string>()));
        Assert.All(jwks, k => Assert.Null(k!["d"]));

        // 5. The token works within its scope, and only there.
        using var authenticated = server.CreateHttpClient(accessToken);
        var listed = await McpHttp.SendAsync(authenticated, McpHttp.ModernRequest(server.McpUri, "tools/list"), Token);
        Assert.Equal(["text_echo"], listed.Result["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        var echoed = await McpHttp.SendAsync(authenticated, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "hi" } }), Token);
        Assert.Equal("hi", echoed.Result["content"]![0]!["text"]!.GetValue<string>());
        var wordCount = await McpHttp.SendAsync(authenticated, McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_word_count", ["arguments"] = new JsonObject { ["text"] = "hi" } }), Token);
        Assert.Equal(403, wordCount.Status);
    }

    [Fact]
    public async Task EveryToolEndpointRefusesAnonymousCallers_AndDiscoveryStaysOpen()
    {
        await using var server = await StartAsync();
        using var http = server.CreateHttpClient();

        var rest = await http.GetAsync(new Uri("/v1/tools", UriKind.Relative), Token);
        Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
        Assert.Equal("application/problem+json", rest.Content.Headers.ContentType?.MediaType);
        Assert.Contains("resource_metadata=", rest.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        var legacy = await McpHttp.SendAsync(http, McpHttp.Post(server.McpUri, """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"""), Token);
        Assert.Equal(401, legacy.Status);
        Assert.Null(legacy.SessionId);

        Assert.Equal(401, await WebSocketUpgrade.StatusAsync(server.BaseUri, bearerToken: null, Token));
        Assert.Equal(401, await WebSocketUpgrade.StatusAsync(server.BaseUri, bearerToken: "not-a-token", Token));

        foreach (var open in new[] { "/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server" })
        {
            var response = await http.GetAsync(new Uri(open, UriKind.Relative), Token);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{open} answered {(int)response.StatusCode}");
        }

        // The JWKS may be cached exactly as long as the schedule allows (publication lead >= max-age).
        var jwks = await http.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Token);
        Assert.Equal(TimeSpan.FromMinutes(10), jwks.Headers.CacheControl?.MaxAge);
    }

    [Fact]
    public async Task TokenEndpoint_AnswersEachClientMistakeWithItsOAuthError()
    {
        await using var server = await StartAsync();
        var secret = await server.GetRequiredService<OAuthClientStore>().AddAsync("ci", "tools:clock/* tools:text/echo", tenant: null, roles: [], Token);
        using var http = server.CreateHttpClient();

        async Task<(int Status, string? Error, string Body, HttpResponseMessage Response)> AskAsync(Dictionary<string, string> form, string? basic = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
            if (basic is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
            }

            var response = await http.SendAsync(request, Token);
            var body = await response.Content.ReadAsStringAsync(Token);
            return ((int)response.StatusCode, JsonNode.Parse(body)?["error"]?.GetValue<string>(), body, response);
        }

        var wrongSecret = await AskAsync(new() { ["grant_type"] = "client_credentials" }, "ci:" + secret + "x");
        Assert.Equal((401, "invalid_client"), (wrongSecret.Status, wrongSecret.Error));
        Assert.Equal("Basic", wrongSecret.Response.Headers.WwwAuthenticate.Single().Scheme);

        var unknownClient = await AskAsync(new() { ["grant_type"] = "client_credentials", ["client_id"] = "nobody", ["client_secret"] = secret });
        Assert.Equal((401, "invalid_client"), (unknownClient.Status, unknownClient.Error));
        Assert.Equal(wrongSecret.Body, unknownClient.Body);

        var both = await AskAsync(new() { ["grant_type"] = "client_credentials", ["client_id"] = "ci", ["client_secret"] = secret }, "ci:" + secret);
        Assert.Equal((400, "invalid_request"), (both.Status, both.Error));

        var grant = await AskAsync(new() { ["grant_type"] = "password", ["client_id"] = "ci", ["client_secret"] = secret });
        Assert.Equal((400, "unsupported_grant_type"), (grant.Status, grant.Error));

        var wider = await AskAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "tools:text/word_count" }, "ci:" + secret);
        Assert.Equal((400, "invalid_scope"), (wider.Status, wider.Error));
        var everything = await AskAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "tools:*" }, "ci:" + secret);
        Assert.Equal((400, "invalid_scope"), (everything.Status, everything.Error));

        var elsewhere = await AskAsync(new() { ["grant_type"] = "client_credentials", ["resource"] = "https://other.example/mcp" }, "ci:" + secret);
        Assert.Equal((400, "invalid_target"), (elsewhere.Status, elsewhere.Error));

        using var json = await http.PostAsync("/oauth/token", new StringContent("""{"grant_type":"client_credentials"}""", Encoding.UTF8, "application/json"), Token);
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);

        // A narrower scope under a registered pattern is granted; no scope asked means the registration.
        var narrower = await AskAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "tools:clock/now" }, "ci:" + secret);
        Assert.Equal(200, narrower.Status);
        Assert.Equal("tools:clock/now", JsonNode.Parse(narrower.Body)!["scope"]!.GetValue<string>());
        var whole = await AskAsync(new() { ["grant_type"] = "client_credentials", ["client_id"] = "ci", ["client_secret"] = secret });
        Assert.Equal("tools:clock/* tools:text/echo", JsonNode.Parse(whole.Body)!["scope"]!.GetValue<string>());

        foreach (var answer in new[] { wrongSecret, unknownClient, both, grant, wider, everything, elsewhere, narrower, whole })
        {
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TokenEndpoint_LimitsRequestsPerAddress_AndOpensAgainAfterTheWindow()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await StartAsync(
            configure: b => b.Services.AddSingleton<TimeProvider>(clock),
            configuration: new Dictionary<string, string?> { ["Switchboard:Security:TokenRequestsPerMinute"] = "3" });
        var secret = await server.GetRequiredService<OAuthClientStore>().AddAsync("ci", "tools:text/*", tenant: null, roles: [], Token);
        using var http = server.CreateHttpClient();

        Task<HttpResponseMessage> AskAsync(string withSecret) => http.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "ci",
            ["client_secret"] = withSecret,
        }), Token);

        // Three guesses use up the minute; then even the right secret is refused, without being checked.
        for (var guess = 0; guess < 3; guess++)
        {
            using var wrong = await AskAsync("guess-" + guess);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var limited = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);
        var body = JsonNode.Parse(await limited.Content.ReadAsStringAsync(Token))!;
        Assert.Equal("too_many_requests", body["error"]!.GetValue<string>());
        Assert.Null(body["access_token"]);

        // The limit is the token endpoint's alone: tools still answer holders of a valid token.
        var token = server.IssueToken("tools:text/*");
        using var tools = server.CreateHttpClient(token);
        using var list = await tools.GetAsync("/v1/tools", Token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);

        clock.Advance(TimeSpan.FromSeconds(59));
        using var stillLimited = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillLimited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), stillLimited.Headers.RetryAfter?.Delta);

        clock.Advance(TimeSpan.FromSeconds(1));
        using var granted = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        Assert.NotNull(JsonNode.Parse(await granted.Content.ReadAsStringAsync(Token))!["access_token"]);
    }

    [Fact]
    public async Task RevocationEndpoint_LetsAClientRevokeItsOwnTokens_Rfc7009()
    {
        await using var server = await StartAsync();
        var clients = server.GetRequiredService<OAuthClientStore>();
        var aliceSecret = await clients.AddAsync("alice-bot", "tools:text/*", tenant: null, roles: [], Token);
        var bobSecret = await clients.AddAsync("bob-bot", "tools:text/*", tenant: null, roles: [], Token);
        using var http = server.CreateHttpClient();

        async Task<HttpResponseMessage> PostAsync(string path, Dictionary<string, string> form) => await http.PostAsync(path, new FormUrlEncodedContent(form), Token);
        async Task<string> TokenOfAsync(string client, string secret)
        {
            using var response = await PostAsync("/oauth/token", new() { ["grant_type"] = "client_credentials", ["client_id"] = client, ["client_secret"] = secret });
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(Token))!["access_token"]!.GetValue<string>();
        }

        async Task<HttpStatusCode> ListAsync(string token)
        {
            using var caller = server.CreateHttpClient(token);
            using var response = await caller.GetAsync("/v1/tools", Token);
            return response.StatusCode;
        }

        var aliceToken = await TokenOfAsync("alice-bot", aliceSecret);
        var aliceOther = await TokenOfAsync("alice-bot", aliceSecret);
        Assert.Equal(HttpStatusCode.OK, await ListAsync(aliceToken));

        // Another client cannot revoke it; nor can a caller without client credentials.
        using (var foreign = await PostAsync("/oauth/revoke", new() { ["token"] = aliceToken, ["client_id"] = "bob-bot", ["client_secret"] = bobSecret }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);
            Assert.Equal("unauthorized_client", JsonNode.Parse(await foreign.Content.ReadAsStringAsync(Token))!["error"]!.GetValue<string>());
        }

        using (var anonymous = await PostAsync("/oauth/revoke", new() { ["token"] = aliceToken }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await ListAsync(aliceToken));

        // Its own client can, with HTTP Basic as well as form credentials.
        using (var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = aliceToken, ["token_type_hint"] = "access_token" }) })
        {
            revoke.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice-bot:" + aliceSecret)));
            using var revoked = await http.SendAsync(revoke, Token);
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await ListAsync(aliceToken));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(aliceOther));

        // Invalid tokens are answered 200 with nothing done (RFC 7009 §2.2); a request without a token is malformed.
        using (var garbage = await PostAsync("/oauth/revoke", new() { ["token"] = "not-a-token", ["client_id"] = "alice-bot", ["client_secret"] = aliceSecret }))
        {
            Assert.Equal(HttpStatusCode.OK, garbage.StatusCode);
        }

        using (var missing = await PostAsync("/oauth/revoke", new() { ["client_id"] = "alice-bot", ["client_secret"] = aliceSecret }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
            Assert.Equal("invalid_request", JsonNode.Parse(await missing.Content.ReadAsStringAsync(Token))!["error"]!.GetValue<string>());
        }

        var metadata = JsonNode.Parse(await http.GetStringAsync("/.well-known/oauth-authorization-server", Token))!;
        Assert.EndsWith("/oauth/revoke", metadata["revocation_endpoint"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientRegistration_CarriesTenantAndRolesIntoItsTokens()
    {
        await using var server = await StartAsync(
            configure: b =>
            {
                b.AddPlugin<BillingTools>(BillingTools.PluginName, "1.0.0");
                b.AddPlugin<VaultTools>(VaultTools.PluginName, "1.0.0");
                b.Services.AddSingleton(new BillingLedger());
            },
            configuration: PermissionServerFixture.Policy);
        var clients = server.GetRequiredService<OAuthClientStore>();
        var acmeSecret = await clients.AddAsync("acme-bot", "profile tools:vault/*", tenant: "acme", roles: ["agent"], Token);
        var globexSecret = await clients.AddAsync("globex-bot", "profile tools:vault/*", tenant: "globex", roles: [], Token);
        using var http = server.CreateHttpClient();

        async Task<IReadOnlyList<string>> ToolsOfAsync(string client, string secret)
        {
            using var response = await http.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = client,
                ["client_secret"] = secret,
            }), Token);
            var token = JsonNode.Parse(await response.Content.ReadAsStringAsync(Token))!["access_token"]!.GetValue<string>();
            await using var caller = await SecuredClient.ConnectAsync(SecuredTransport.HttpModern, server, token, Token);
            return (await caller.ListAsync(Token)).Order(StringComparer.Ordinal).ToList();
        }

        Assert.Equal(["billing_refund", "vault_read"], await ToolsOfAsync("acme-bot", acmeSecret));
        Assert.Empty(await ToolsOfAsync("globex-bot", globexSecret));

        // Removing a client stops new tokens at once.
        Assert.True(await clients.RemoveAsync("globex-bot", Token));
        using var after = await http.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "globex-bot",
            ["client_secret"] = globexSecret,
        }), Token);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task WebSocket_ClosesWhenItsTokenExpires()
    {
        var (server, clock, token) = await StartOnFakeClockAsync();
        await using var _server = server;
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token, bearerToken: token);
        await socket.InitializeAsync(Token);
        await socket.SendAsync(McpWebSocket.Call(1, "text_echo", new JsonObject { ["text"] = "before" }), Token);
        var (before, _) = await socket.ReceiveResponseAsync(1, Token);
        Assert.Equal("before", before["result"]!["content"]![0]!["text"]!.GetValue<string>());

        // The token stays acceptable until exp plus the allowed clock skew (30 s by default), exactly as it would be at
        // upgrade; one second short of that the connection still serves.
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30) - TimeSpan.FromSeconds(1));
        await socket.SendAsync(McpWebSocket.Call(2, "text_echo", new JsonObject { ["text"] = "still" }), Token);
        var (still, _) = await socket.ReceiveResponseAsync(2, Token);
        Assert.Equal("still", still["result"]!["content"]![0]!["text"]!.GetValue<string>());

        clock.Advance(TimeSpan.FromSeconds(1));
        var closing = await socket.ReceiveAsync(Token, TimeSpan.FromSeconds(30));
        Assert.Null(closing);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("token expired", socket.CloseStatusDescription);
    }

    /// <summary>A server on a fake clock (WebSocket idle timeout out of the way) and a 5-minute token for text tools.</summary>
    private static async Task<(SwitchboardTestServer Server, FakeTimeProvider Clock, string AccessToken)> StartOnFakeClockAsync()
    {
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var server = await StartAsync(
            configure: b => b.Services.AddSingleton<TimeProvider>(clock),
            configuration: new Dictionary<string, string?> { ["Switchboard:WebSockets:IdleTimeout"] = "01:00:00" });
        return (server, clock, server.IssueToken("tools:text/*", lifetime: TimeSpan.FromMinutes(5)));
    }

    /// <summary>Revokes <paramref name="accessToken"/> itself ("token revoked") or the key that signed it ("key revoked").</summary>
    private static async Task RevokeAsync(SwitchboardTestServer server, string accessToken, string what)
    {
        if (what == "token revoked")
        {
            Assert.True(await server.GetRequiredService<TokenRevocationList>().RevokeAsync(
                CompactJwt.ClaimOf(accessToken, "iss"), CompactJwt.ClaimOf(accessToken, "jti"), CompactJwt.ExpiryOf(accessToken), "test", Token));
        }
        else
        {
            Assert.True(await server.GetRequiredService<SigningKeyRing>().RevokeAsync(CompactJwt.KidOf(accessToken), Token));
        }
    }

    [Theory]
    [InlineData("token revoked")]
    [InlineData("key revoked")]
    public async Task WebSocket_ClosesWithinASecondOnceItsTokenOrItsKeyIsRevoked(string revoked)
    {
        var (server, clock, token) = await StartOnFakeClockAsync();
        await using var _server = server;
        await using var socket = await McpWebSocket.ConnectAsync(server.BaseUri, Token, bearerToken: token);
        await socket.InitializeAsync(Token);
        async Task<string> EchoAsync(int id, string text)
        {
            await socket.SendAsync(McpWebSocket.Call(id, "text_echo", new JsonObject { ["text"] = text }), Token);
            var (answer, _) = await socket.ReceiveResponseAsync(id, Token);
            return answer["result"]!["content"]![0]!["text"]!.GetValue<string>();
        }

        Assert.Equal("before", await EchoAsync(1, "before"));
        await RevokeAsync(server, token, revoked);

        // The credential watchdog looks once a second, so until its next pass the connection still serves.
        Assert.Equal("same second", await EchoAsync(2, "same second"));

        // Then it closes, although the client sends nothing more.
        clock.Advance(TimeSpan.FromSeconds(1));
        var closing = await socket.ReceiveAsync(Token, TimeSpan.FromSeconds(30));
        Assert.Null(closing);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("token no longer accepted", socket.CloseStatusDescription);

        // A new connection with the same token is refused at the upgrade.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => McpWebSocket.ConnectAsync(server.BaseUri, Token, bearerToken: token));
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("token revoked")]
    [InlineData("key revoked")]
    [InlineData("token expired")]
    public async Task StreamableHttp_AListenStream_EndsWithItsCredentials(string ending)
    {
        var (server, clock, token) = await StartOnFakeClockAsync();
        await using var _server = server;
        var watchdog = server.GetRequiredService<CredentialWatchdog>();
        using var http = server.CreateHttpClient(token);
        var listen = McpHttp.ModernRequest(server.McpUri, "subscriptions/listen", new JsonObject { ["notifications"] = new JsonObject { ["toolsListChanged"] = true } }, "listen-1");
        using var response = await http.SendAsync(listen, HttpCompletionOption.ResponseHeadersRead, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(Token);
        Assert.Equal(1, watchdog.Count);

        // Checked and still accepted: the stream stays open.
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, watchdog.Count);

        if (ending == "token expired")
        {
            // exp plus the default 30 s skew.
            clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30));
        }
        else
        {
            await RevokeAsync(server, token, ending);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // The server ends the stream: the read sees its end or the connection reset, not a 30 s wait.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[4096];
        var ended = false;
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }

            ended = true;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            ended = true;
        }

        Assert.True(ended);
        Assert.False(deadline.IsCancellationRequested);
        Assert.Equal(0, watchdog.Count);
    }

    [Fact]
    public async Task WebSocket_AcceptsTheTokenAsASubprotocol_AndNeverEchoesIt()
    {
        await using var server = await StartAsync();
        var token = server.IssueToken("tools:text/*");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mcp");
        socket.Options.AddSubProtocol("bearer." + token);
        socket.Options.CollectHttpResponseDetails = true;

        await socket.ConnectAsync(McpWebSocket.EndpointOf(server.BaseUri), Token);

        Assert.Equal("mcp", socket.SubProtocol);
        var echoed = socket.HttpResponseHeaders?.SelectMany(h => h.Value).Any(v => v.Contains(token, StringComparison.Ordinal));
        Assert.NotEqual(true, echoed);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Token);
    }

    private static string Between(string text, string start, string end)
    {
        var from = text.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }

    private static string Base64UrlDecode(string segment)
    {
        var padded = segment.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
    }
}
