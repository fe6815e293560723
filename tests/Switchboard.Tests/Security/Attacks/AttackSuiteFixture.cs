using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Security;
using Switchboard.Storage;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>
/// Everything the attack suite shares, started once: the loopback canary, an external issuers' JWKS server, and two
/// servers under attack — one whose ring signs ES256 (with an external issuer configured) and one whose ring signs RS256.
/// The ES256 ring is put through a rotation first, so it holds a retiring key (<see cref="Retiring"/>), an active key
/// (<see cref="Active"/>) and a published-but-pending key (<see cref="Pending"/>), as a live server does.
/// </summary>
public sealed class AttackSuiteFixture : IAsyncLifetime
{
    public const string IdpIssuer = "https://idp.test";
    public const string Idp2Issuer = "https://idp2.test";

    private readonly ConcurrentDictionary<(AttackTarget, AttackTransport), string> _referenceBodies = new();

    public LoopbackCanary Canary { get; } = new();

    public JwksTestServer Jwks { get; private set; } = null!;

    public AttackTarget Es256 { get; private set; } = null!;

    public AttackTarget Rs256 { get; private set; } = null!;

    public CountingSigningKeyStore Es256Store { get; private set; } = null!;

    /// <summary>The ES256 ring's keys after the rotations done at start.</summary>
    public TestSigner Retiring { get; private set; } = null!;

    public TestSigner Active { get; private set; } = null!;

    public TestSigner Pending { get; private set; } = null!;

    /// <summary>An ES256 ring key that was revoked (it never signed).</summary>
    public TestSigner Revoked { get; private set; } = null!;

    /// <summary>The RS256 ring's first key, retired by a full rotation.</summary>
    public TestSigner Retired { get; private set; } = null!;

    /// <summary>The external issuers' keys (published by <see cref="Jwks"/>).</summary>
    public TestSigner Idp { get; } = TestSigner.Create("idp-ec-1", "ES256");

    public TestSigner IdpRsa { get; } = TestSigner.Create("idp-rsa-1", "RS256");

    public TestSigner Idp2 { get; } = TestSigner.Create("idp2-ec-1", "ES256");

    /// <summary>Published by the issuer as <c>ES256</c> but on P-384 (JWT-B09): must never be usable.</summary>
    public TestSigner IdpP384 { get; } = TestSigner.Create("idp-p384", "ES384");

    /// <summary>A 1024-bit RSA key in the issuer's JWKS (JWT-B12): must be ignored.</summary>
    public TestSigner IdpWeakRsa { get; } = TestSigner.FromRsa("idp-weak-rsa", RSA.Create(1024));

    /// <summary>Keys nobody trusts.</summary>
    public TestSigner Attacker { get; } = TestSigner.Create("attacker-ec", "ES256");

    public TestSigner AttackerRsa { get; } = TestSigner.Create("attacker-rsa", "RS256");

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        Jwks = await JwksTestServer.StartAsync(token);
        var p384 = IdpP384.PublicJwk();
        p384["alg"] = "ES256";
        Jwks.ServeJson("/idp/jwks", new JsonObject { ["keys"] = new JsonArray(Idp.PublicJwk(), IdpRsa.PublicJwk(), p384, IdpWeakRsa.PublicJwk()) }.ToJsonString());
        Jwks.ServeJson("/idp2/jwks", new JsonObject { ["keys"] = new JsonArray(Idp2.PublicJwk()) }.ToJsonString());

        Es256 = await AttackTarget.StartAsync(
            configuration: new Dictionary<string, string?>
            {
                // A long publication lead keeps the pending key pending while tests move the clock a few minutes.
                ["Switchboard:Security:Keys:JwksMaxAge"] = "01:00:00",
                ["Switchboard:Security:ExternalIssuers:0:Issuer"] = IdpIssuer,
                ["Switchboard:Security:ExternalIssuers:0:JwksUri"] = Jwks.Url("/idp/jwks"),
                ["Switchboard:Security:ExternalIssuers:1:Issuer"] = Idp2Issuer,
                ["Switchboard:Security:ExternalIssuers:1:JwksUri"] = Jwks.Url("/idp2/jwks"),
            },
            configure: b => b.Services.AddSingleton<ISigningKeyStore>(sp => new CountingSigningKeyStore(new SqliteSigningKeyStore(sp.GetRequiredService<SqliteDatabase>()))),
            cancellationToken: token);
        Es256Store = (CountingSigningKeyStore)Es256.Server.GetRequiredService<ISigningKeyStore>();
        Rs256 = await AttackTarget.StartAsync("RS256", cancellationToken: token);

        // Rotate once (the first key retires, the second signs), then schedule a third that is published but not signing.
        var ring = Es256.Ring;
        Retiring = Es256.ActiveKey;
        await ring.RotateAsync(token);
        Es256.Clock.Advance(ring.PublicationLead);
        await ring.MaintainAsync(token);
        Active = Es256.ActiveKey;

        // A scheduled key revoked before it ever signed (as after a leak), then the pending key that replaces it.
        Revoked = Es256.KeyOf((await ring.RotateAsync(token)).Kid);
        Assert.True(await ring.RevokeAsync(Revoked.Kid, token));
        Pending = Es256.KeyOf((await ring.RotateAsync(token)).Kid);
        Assert.Equal(SigningKeyState.Retiring, ring.State.Keys.Single(k => k.Kid == Retiring.Kid).StateAt(Es256.Now));
        Assert.Equal(SigningKeyState.Revoked, ring.State.Keys.Single(k => k.Kid == Revoked.Kid).StateAt(Es256.Now));
        Assert.Equal(SigningKeyState.Pending, ring.State.Keys.Single(k => k.Kid == Pending.Kid).StateAt(Es256.Now));
        Assert.NotEqual(Retiring.Kid, Active.Kid);
        Assert.Equal(Active.Kid, Es256.ActiveKey.Kid);

        // The RS256 ring goes through a whole rotation: its first key is retired (past max lifetime + skew after it
        // stopped signing) but still in the store, as it stays for a day.
        var rsRing = Rs256.Ring;
        Retired = Rs256.ActiveKey;
        await rsRing.RotateAsync(token);
        Rs256.Clock.Advance(rsRing.PublicationLead + rsRing.Retention + TimeSpan.FromSeconds(1));
        await rsRing.MaintainAsync(token);
        Assert.Equal(SigningKeyState.Retired, rsRing.State.Keys.Single(k => k.Kid == Retired.Kid).StateAt(Rs256.Now));
        Assert.NotEqual(Retired.Kid, Rs256.ActiveKey.Kid);
    }

    /// <summary>
    /// The body of a 401 for one plainly bad token on this transport. Every other invalid token must get exactly these
    /// bytes: the response must not tell an attacker which check failed.
    /// </summary>
    public async Task<string> ReferenceBodyAsync(AttackTarget target, AttackTransport transport)
    {
        if (_referenceBodies.TryGetValue((target, transport), out var body))
        {
            return body;
        }

        var token = target.Token(signer: Attacker);
        var observed = await AttackClient.SendAsync(target, transport, Presentation.Bearer(token), TestContext.Current.CancellationToken);
        Assert.Equal(401, observed.Status);
        return _referenceBodies.GetOrAdd((target, transport), observed.Body);
    }

    /// <summary>A token from the external issuer <c>https://idp.test</c>, valid unless edited.</summary>
    public string IdpToken(Action<JsonObject>? header = null, Action<JsonObject>? claims = null, TestSigner? signer = null, string issuer = IdpIssuer, string? signAs = null)
    {
        signer ??= Idp;
        var h = TokenForge.Header(signAs ?? signer.Algorithm, signer.Kid);
        header?.Invoke(h);
        var c = TokenForge.Claims(issuer, AttackTarget.Resource, Es256.Now, "tools:vault/*");
        claims?.Invoke(c);
        return TokenForge.FromJson(h.ToJsonString(), c.ToJsonString(), input => signer.SignAs(signAs ?? signer.Algorithm, input));
    }

    public async ValueTask DisposeAsync()
    {
        await Es256.DisposeAsync();
        await Rs256.DisposeAsync();
        await Jwks.DisposeAsync();
        await Canary.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class AttackSuiteDefinition : ICollectionFixture<AttackSuiteFixture>
{
    public const string Name = "attack suite";
}
