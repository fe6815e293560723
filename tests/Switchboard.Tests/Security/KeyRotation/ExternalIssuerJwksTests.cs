using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.KeyRotation;

/// <summary>
/// A configured external issuer whose JWKS is served by a real loopback server the test controls. An unknown <c>kid</c>
/// costs exactly one rate-limited refetch (JWT-C12, KEY-04); the issuer's own rotation is picked up by that refetch;
/// a malformed, oversized or redirected key set never breaks validation: the last good keys stay (KEY-07/08/09) and
/// nothing else is contacted.
/// </summary>
public sealed class ExternalIssuerJwksTests : IAsyncLifetime
{
    private const string Issuer = "https://idp.test";
    private const string JwksPath = "/idp/jwks";
    private static readonly TimeSpan s_refreshInterval = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan s_minimumRefreshInterval = TimeSpan.FromSeconds(30);

    private readonly TestSigner _k1 = TestSigner.Create("idp-k1", "ES256");
    private readonly TestSigner _k2 = TestSigner.Create("idp-k2", "ES256");
    private readonly LoopbackCanary _canary = new();
    private JwksTestServer _jwks = null!;
    private AttackTarget _target = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _jwks = await JwksTestServer.StartAsync(Token);
        Serve(_k1);
        _target = await AttackTarget.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                ["Switchboard:Security:ExternalIssuers:0:Issuer"] = Issuer,
                ["Switchboard:Security:ExternalIssuers:0:JwksUri"] = _jwks.Url(JwksPath),
                ["Switchboard:Security:ExternalIssuers:0:RefreshInterval"] = "00:10:00",
                ["Switchboard:Security:ExternalIssuers:0:MinimumRefreshInterval"] = "00:00:30",
            },
            cancellationToken: Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _target.DisposeAsync();
        await _jwks.DisposeAsync();
        await _canary.DisposeAsync();
    }

    [Fact]
    public async Task JWT_C12_UnknownKids_CostExactlyOneRateLimitedRefetch_AndTheIssuersRotationIsPickedUpByIt()
    {
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        Assert.Equal(1, _jwks.Requests(JwksPath));

        // Within the minimum interval after a fetch, unknown kids fetch nothing.
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 10).Select(i => StatusAsync(IdpToken(_k1, kid: "made-up-" + i)))), s => Assert.Equal(401, s));
        Assert.Equal(1, _jwks.Requests(JwksPath));

        // After it, a burst of unknown kids costs exactly one refetch.
        _target.Clock.Advance(s_minimumRefreshInterval);
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 20).Select(i => StatusAsync(IdpToken(_k1, kid: "burst-" + i)))), s => Assert.Equal(401, s));
        Assert.Equal(2, _jwks.Requests(JwksPath));

        // The issuer rotates (K2 added); a burst of K2 tokens after the interval: one refetch, every one accepted.
        Serve(_k1, _k2);
        _target.Clock.Advance(s_minimumRefreshInterval);
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => StatusAsync(IdpToken(_k2)))), s => Assert.Equal(200, s));
        Assert.Equal(3, _jwks.Requests(JwksPath));
        Assert.Equal(11, _target.Vault.Calls);
        Assert.Equal(0, _canary.Connections);
    }

    public static TheoryData<string> MalformedKeySets => new()
    {
        "kid as a number",
        "use as a number",
        "alg as a number",
        "crv as a number",
        "x not base64url",
        "keys not an array",
        "1,000 keys",
        "duplicate kid",
        "a private member (d)",
        "300 KB document",
        "not JSON",
        "HTTP 503",
        "302 redirect to the canary",
    };

    [Theory]
    [MemberData(nameof(MalformedKeySets))]
    public async Task KEY_07_08_09_ABadKeySetOnRefresh_IsRefused_TheLastGoodKeysStay_AndNothingElseIsContacted(string what)
    {
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        ServeBad(what);
        _target.Clock.Advance(s_refreshInterval + TimeSpan.FromSeconds(1));

        // The refresh happens (and fails) on this request; the cached key keeps validating, an unknown one does not.
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        Assert.Equal(2, _jwks.Requests(JwksPath));
        Assert.Equal(401, await StatusAsync(IdpToken(_k2)));
        Assert.Equal(2, _target.Vault.Calls);
        Assert.Equal(0, _canary.Connections);
    }

    [Fact]
    public async Task KEY_07_WhileTheJwksIsDown_CachedKeysServeForABoundedTime_ThenValidationFailsClosed()
    {
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        _jwks.ServeStatus(JwksPath, 503);

        _target.Clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        _target.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(401, await StatusAsync(IdpToken(_k1)));

        // Back up: the next request fetches again and the key validates again.
        Serve(_k1);
        _target.Clock.Advance(s_minimumRefreshInterval);
        Assert.Equal(200, await StatusAsync(IdpToken(_k1)));
        Assert.Equal(3, _target.Vault.Calls);
        Assert.Equal(0, _canary.Connections);
    }

    [Fact]
    public async Task KEY_09_AFirstFetchRedirectedToTheCanary_IsNotFollowed_AndTheTokenIsRefused()
    {
        _jwks.ServeStatus(JwksPath, 302, _canary.Url());

        Assert.Equal(401, await StatusAsync(IdpToken(_k1)));
        Assert.Equal(1, _jwks.Requests(JwksPath));
        Assert.Equal(0, _canary.Connections);
        Assert.Equal(0, _target.Vault.Calls);
    }

    private void Serve(params TestSigner[] keys)
        => _jwks.ServeJson(JwksPath, new JsonObject { ["keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k.PublicJwk())]) }.ToJsonString());

    /// <summary>
    /// Serves a bad key set on refresh. Where the set is a list of keys, it holds the good K1 and a damaged K2: whether a
    /// verifier drops the whole set (keeping the last good one) or only the damaged key, K1 must keep validating and the
    /// damaged K2 must never validate.
    /// </summary>
    private void ServeBad(string what)
    {
        JsonObject K2(string name, JsonNode? value)
        {
            var jwk = _k2.PublicJwk();
            jwk[name] = value;
            return jwk;
        }

        string Set(params JsonNode[] keys) => new JsonObject { ["keys"] = new JsonArray([_k1.PublicJwk(), .. keys]) }.ToJsonString();
        switch (what)
        {
            case "kid as a number": _jwks.ServeJson(JwksPath, Set(K2("kid", 7))); break;
            case "use as a number": _jwks.ServeJson(JwksPath, Set(K2("use", 1))); break;
            case "alg as a number": _jwks.ServeJson(JwksPath, Set(K2("alg", 256))); break;
            case "crv as a number": _jwks.ServeJson(JwksPath, Set(K2("crv", 256))); break;
            case "x not base64url": _jwks.ServeJson(JwksPath, Set(K2("x", "***"))); break;
            case "keys not an array": _jwks.ServeJson(JwksPath, new JsonObject { ["keys"] = _k2.PublicJwk() }.ToJsonString()); break;
            case "1,000 keys": _jwks.ServeJson(JwksPath, Set([_k2.PublicJwk(), .. Enumerable.Range(0, 999).Select(i => (JsonNode)TestSigner.Create("k" + i, "ES256").PublicJwk())])); break;
            case "duplicate kid": _jwks.ServeJson(JwksPath, Set(_k2.PublicJwk(), _k2.PublicJwk())); break;
            case "a private member (d)": _jwks.ServeJson(JwksPath, Set(K2("d", "AQAB"))); break;
            case "300 KB document": _jwks.ServeJson(JwksPath, Set(K2("x-filler", new string('f', 300 * 1024)))); break;
            case "not JSON": _jwks.ServeJson(JwksPath, "{\"keys\":["); break;
            case "HTTP 503": _jwks.ServeStatus(JwksPath, 503); break;
            case "302 redirect to the canary": _jwks.ServeStatus(JwksPath, 302, _canary.Url()); break;
            default: throw new ArgumentOutOfRangeException(nameof(what));
        }
    }

    private string IdpToken(TestSigner signer, string? kid = null)
    {
        var header = TokenForge.Header(signer.Algorithm, kid ?? signer.Kid);
        var claims = TokenForge.Claims(Issuer, AttackTarget.Resource, _target.Now, "tools:vault/*");
        return TokenForge.FromJson(header.ToJsonString(), claims.ToJsonString(), signer.Sign);
    }

    private async Task<int> StatusAsync(string token)
        => (await AttackClient.SendAsync(_target, AttackTransport.Rest, Presentation.Bearer(token), Token)).Status;
}
