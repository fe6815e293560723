using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Security;
using Switchboard.Tests.Security.Support;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.KeyRotation;

/// <summary>
/// Servers for the rotation tests (catalog §1.5): the attack target (real Kestrel, real SQLite, a fake clock) with a
/// schedule small enough to walk through: tokens live at most <see cref="MaxLifetime"/> (1 h), skew 60 s, the JWKS is
/// cached for 10 min and a new key is published 10 + 5 min before it signs; rotation every 2 h.
/// </summary>
internal static class RotationRig
{
    public static readonly TimeSpan MaxLifetime = AttackTarget.MaxLifetime;
    public static readonly TimeSpan Skew = AttackTarget.Skew;
    public static readonly TimeSpan JwksMaxAge = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Lead = JwksMaxAge + Margin;
    public static readonly TimeSpan RotationPeriod = TimeSpan.FromHours(2);
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMinutes(1);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static Task<AttackTarget> StartAsync(TemporaryDirectory? sharedData = null, FakeTimeProvider? sharedClock = null, Action<global::Switchboard.Hosting.ISwitchboardBuilder>? configure = null)
        => AttackTarget.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                ["Switchboard:Security:Keys:JwksMaxAge"] = JwksMaxAge.ToString("c", CultureInfo.InvariantCulture),
                ["Switchboard:Security:Keys:PublicationMargin"] = Margin.ToString("c", CultureInfo.InvariantCulture),
                ["Switchboard:Security:Keys:RotationPeriod"] = RotationPeriod.ToString("c", CultureInfo.InvariantCulture),
                ["Switchboard:Security:Keys:CheckInterval"] = CheckInterval.ToString("c", CultureInfo.InvariantCulture),

                // These tests move the shared fake clock by minutes while calls are in flight. The audit log bounds its
                // writes with a timeout on that same clock, so a call caught mid-write would be refused as
                // audit-unavailable (503, fail closed): right for the audit log, but not what rotation tests measure.
                ["Switchboard:Compliance:Audit:Enabled"] = "false",

                // For the same reason tools get an hour: a one-minute step of the clock would otherwise pass the default
                // 60 s deadline of a call just started, which is then answered as timed out without running.
                ["Switchboard:Tools:DefaultTimeout"] = "01:00:00",
            },
            dataDirectory: sharedData,
            clock: sharedClock,
            configure: configure,
            cancellationToken: Token);

    /// <summary>A token from the server's own issuer (the code path of /oauth/token and <c>switchboard token issue</c>).</summary>
    public static string Issue(AttackTarget target, TimeSpan? lifetime = null)
        => target.Server.GetRequiredService<AccessTokenIssuer>()
            .Issue(new TokenRequest("alice", "rotation-suite", "tools:vault/*", lifetime ?? MaxLifetime)).AccessToken;

    /// <summary>The <c>kid</c> a compact token names.</summary>
    public static string KidOf(string token) => CompactJwt.KidOf(token);

    /// <summary>The status a REST tool call with this token gets (200 accepted, 401 refused).</summary>
    public static async Task<int> StatusAsync(AttackTarget target, string token)
        => (await AttackClient.SendAsync(target, AttackTransport.Rest, Presentation.Bearer(token), Token)).Status;

    /// <summary>GET /.well-known/jwks.json: the <c>kid</c>s published and the <c>Cache-Control</c> max-age.</summary>
    public static async Task<(IReadOnlyList<string> Kids, TimeSpan MaxAge, JsonArray Keys)> JwksAsync(AttackTarget target)
    {
        using var response = await target.Http.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative), Token);
        Assert.Equal(200, (int)response.StatusCode);
        var maxAge = response.Headers.CacheControl?.MaxAge ?? throw new InvalidOperationException("no max-age");
        var keys = JsonNode.Parse(await response.Content.ReadAsStringAsync(Token))!["keys"]!.AsArray();
        return ([.. keys.Select(k => k!["kid"]!.GetValue<string>())], maxAge, keys);
    }

    /// <summary>Moves the fake clock to <paramref name="at"/> (forward only).</summary>
    public static void AdvanceTo(FakeTimeProvider clock, DateTimeOffset at)
    {
        Assert.True(at >= clock.GetUtcNow(), $"cannot go back from {clock.GetUtcNow():O} to {at:O}");
        clock.Advance(at - clock.GetUtcNow());
    }

    /// <summary>
    /// Waits, event-driven by short polls, until <paramref name="condition"/> holds (a replica's background maintenance
    /// runs on its own after the fake clock fires its timer). Fails after 15 s of real time.
    /// </summary>
    public static Task EventuallyAsync(Func<Task<bool>> condition, string what)
        => Eventually.TrueAsync(condition, what, TimeSpan.FromSeconds(15));

    public static SigningKeyRecord Record(AttackTarget target, string kid) => target.Ring.State.Keys.Single(k => k.Kid == kid);
}
