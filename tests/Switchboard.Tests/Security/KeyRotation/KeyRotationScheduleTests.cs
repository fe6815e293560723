using Switchboard.Security;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.KeyRotation;

/// <summary>
/// Catalog §1.5 on one server and its fake clock: tokens from before, during and after a rotation each validate until
/// their own <c>exp</c> + skew and not a second longer (KEY-01/02/03/05); the next key is published at least the JWKS
/// max-age + margin before it signs (rule 1, KEY-12); the retiring key stays published for max lifetime + skew after it
/// stops signing, then leaves (rules 2–3); a revoked key's tokens fail at once (KEY-06).
/// </summary>
public sealed class KeyRotationScheduleTests
{
    [Fact]
    public async Task KEY_01_02_03_05_TokensFromBeforeDuringAndAfterARotation_EachValidateUntilTheirOwnExpiry_AndNotAfter()
    {
        await using var target = await RotationRig.StartAsync();
        var clock = target.Clock;
        var start = target.Now;
        var first = target.ActiveKey.Kid;

        var before = RotationRig.Issue(target);
        clock.Advance(TimeSpan.FromMinutes(1));
        var next = await target.Ring.RotateAsync(TestContext.Current.CancellationToken);
        var during = RotationRig.Issue(target);
        RotationRig.AdvanceTo(clock, next.ActivateAt - TimeSpan.FromSeconds(1));
        var lastOfOld = RotationRig.Issue(target);
        clock.Advance(TimeSpan.FromSeconds(1));
        var after = RotationRig.Issue(target, TimeSpan.FromMinutes(30));

        // Signed by the key the schedule says: the old one up to the last second before activation, the new one from then.
        Assert.Equal([first, first, first, next.Kid], new[] { before, during, lastOfOld, after }.Select(RotationRig.KidOf));
        var tokens = new (string Name, string Token, DateTimeOffset LastAccepted)[]
        {
            ("before", before, start + RotationRig.MaxLifetime + RotationRig.Skew - TimeSpan.FromSeconds(1)),
            ("during", during, start + TimeSpan.FromMinutes(1) + RotationRig.MaxLifetime + RotationRig.Skew - TimeSpan.FromSeconds(1)),
            ("last of the old key", lastOfOld, next.ActivateAt - TimeSpan.FromSeconds(1) + RotationRig.MaxLifetime + RotationRig.Skew - TimeSpan.FromSeconds(1)),
            ("after", after, next.ActivateAt + TimeSpan.FromMinutes(30) + RotationRig.Skew - TimeSpan.FromSeconds(1)),
        };

        // Walk the clock over every token's last accepted second and the second after; at each point every token is
        // accepted exactly when it has not expired yet, whichever key signed it.
        var checkpoints = tokens.SelectMany(t => new[] { t.LastAccepted, t.LastAccepted + TimeSpan.FromSeconds(1) }).Order().Prepend(target.Now);
        var seen = new List<string>();
        var expected = new List<string>();
        foreach (var at in checkpoints)
        {
            RotationRig.AdvanceTo(clock, at);
            foreach (var (name, token, lastAccepted) in tokens)
            {
                seen.Add($"{name} at +{(at - start).TotalSeconds}s: {await RotationRig.StatusAsync(target, token)}");
                expected.Add($"{name} at +{(at - start).TotalSeconds}s: {(at <= lastAccepted ? 200 : 401)}");
            }
        }

        Assert.Equal(expected, seen);
        Assert.Equal(seen.Count(s => s.EndsWith(": 200", StringComparison.Ordinal)), target.Vault.Calls);
    }

    [Fact]
    public async Task KEY_12_TheNextKeyIsPublished_AtLeastTheJwksMaxAgePlusMargin_BeforeItSigns()
    {
        await using var target = await RotationRig.StartAsync();
        var first = target.ActiveKey.Kid;
        var (kids, maxAge, keys) = await RotationRig.JwksAsync(target);
        Assert.Equal([first], kids);
        Assert.Equal(RotationRig.JwksMaxAge, maxAge);
        Assert.All(keys, k => Assert.All(new[] { "d", "p", "q", "dp", "dq", "qi", "k" }, member => Assert.Null(k![member])));

        var publishedAt = target.Now;
        var next = await target.Ring.RotateAsync(TestContext.Current.CancellationToken);
        var afterRotate = await RotationRig.JwksAsync(target);

        // Published at once, at most one next key (a second rotate returns the same one), kids unique.
        Assert.Equal([first, next.Kid], afterRotate.Kids);
        Assert.Equal(next.Kid, (await target.Ring.RotateAsync(TestContext.Current.CancellationToken)).Kid);
        Assert.Equal(2, (await RotationRig.JwksAsync(target)).Kids.Distinct().Count());

        // A verifier that fetched the JWKS just before the publication holds it for max-age; its next fetch (which sees
        // the new key) is still at least the margin before the key signs.
        Assert.True(next.ActivateAt - publishedAt >= afterRotate.MaxAge + RotationRig.Margin, $"lead {next.ActivateAt - publishedAt}");
        Assert.Equal(SigningKeyState.Pending, next.StateAt(target.Now));

        // The new key does not sign a moment early: the last second before activation still signs with the old key.
        RotationRig.AdvanceTo(target.Clock, next.ActivateAt - TimeSpan.FromSeconds(1));
        Assert.Equal(first, RotationRig.KidOf(RotationRig.Issue(target)));
        var premature = target.Token(signer: target.KeyOf(next.Kid));
        Assert.Equal(401, await RotationRig.StatusAsync(target, premature));
        target.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(next.Kid, RotationRig.KidOf(RotationRig.Issue(target)));
        Assert.Equal(0, target.Vault.Calls);
    }

    [Fact]
    public async Task KEY_05_TheRetiringKey_StaysPublishedForMaxLifetimePlusSkew_AfterItStopsSigning_ThenLeaves()
    {
        await using var target = await RotationRig.StartAsync();
        var first = target.ActiveKey.Kid;
        var next = await target.Ring.RotateAsync(TestContext.Current.CancellationToken);
        RotationRig.AdvanceTo(target.Clock, next.ActivateAt);
        var retiredAt = next.ActivateAt + RotationRig.MaxLifetime + RotationRig.Skew;
        Assert.True(RotationRig.Record(target, first).ExpireAt >= retiredAt);

        RotationRig.AdvanceTo(target.Clock, retiredAt - TimeSpan.FromSeconds(1));
        Assert.Equal([first, next.Kid], (await RotationRig.JwksAsync(target)).Kids);
        Assert.Equal(200, await RotationRig.StatusAsync(target, target.Token(signer: target.KeyOf(first))));

        RotationRig.AdvanceTo(target.Clock, retiredAt);
        Assert.Equal([next.Kid], (await RotationRig.JwksAsync(target)).Kids);
        Assert.Equal(401, await RotationRig.StatusAsync(target, target.Token(signer: target.KeyOf(first))));
        Assert.Equal(1, target.Vault.Calls);
    }

    [Fact]
    public async Task KEY_04_06_RevokingTheNextKeyBeforeItSigns_KeepsTheActiveKeySigning_AndNoUnpublishedKeyEverSigns()
    {
        await using var target = await RotationRig.StartAsync();
        var first = target.ActiveKey.Kid;
        var next = await target.Ring.RotateAsync(TestContext.Current.CancellationToken);

        Assert.True(await target.Ring.RevokeAsync(next.Kid, TestContext.Current.CancellationToken));

        // Walk past the moment the revoked key would have taken over, one maintenance tick at a time.
        while (target.Now <= next.ActivateAt + RotationRig.CheckInterval)
        {
            target.Clock.Advance(RotationRig.CheckInterval);
            await target.Ring.MaintainAsync(TestContext.Current.CancellationToken);
            var token = RotationRig.Issue(target);
            Assert.Equal(first, RotationRig.KidOf(token));
            Assert.Equal(200, await RotationRig.StatusAsync(target, token));
        }

        Assert.DoesNotContain(next.Kid, (await RotationRig.JwksAsync(target)).Kids);
        Assert.Equal(401, await RotationRig.StatusAsync(target, target.Token(signer: target.KeyOf(next.Kid))));
    }

    [Fact]
    public async Task KEY_06_ARevokedKeysTokens_FailAtOnce_AndTheRingSignsWithAnotherKeyImmediately()
    {
        await using var target = await RotationRig.StartAsync();
        var revoked = target.ActiveKey.Kid;
        var token = RotationRig.Issue(target);
        Assert.Equal(200, await RotationRig.StatusAsync(target, token));

        Assert.True(await target.Ring.RevokeAsync(revoked, TestContext.Current.CancellationToken));

        Assert.Equal(401, await RotationRig.StatusAsync(target, token));
        Assert.DoesNotContain(revoked, (await RotationRig.JwksAsync(target)).Kids);
        var replacement = RotationRig.Issue(target);
        Assert.NotEqual(revoked, RotationRig.KidOf(replacement));
        Assert.Equal(200, await RotationRig.StatusAsync(target, replacement));
        Assert.Equal(2, target.Vault.Calls);
    }
}
