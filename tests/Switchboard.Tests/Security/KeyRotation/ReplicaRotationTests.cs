using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Security;
using Switchboard.Storage;
using Switchboard.Tests.Security.Support;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.KeyRotation;

/// <summary>
/// Catalog §1.5 across replicas: two real servers on one data folder (one SQLite store, one key-encryption key) and one
/// fake clock. They create the first key once and rotate once, not once each, even when both run maintenance at the
/// same moment (KEY-11); a key revoked on one replica fails on the other after its next refresh (KEY-06); validations
/// running while the ring rotates never see a spurious 401 (rotation under load, KEY-10/11).
/// </summary>
public sealed class ReplicaRotationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static FakeTimeProvider NewClock() => new(DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()));

    [Fact]
    public async Task KEY_11_TwoReplicasStartingTogetherOnAFreshStore_CreateExactlyOneKey()
    {
        using var data = new TemporaryDirectory();
        var clock = NewClock();

        var replicas = await Task.WhenAll(RotationRig.StartAsync(data, clock), RotationRig.StartAsync(data, clock));
        await using var a = replicas[0];
        await using var b = replicas[1];

        Assert.Single(a.Ring.State.Keys);
        await b.Ring.RefreshAsync(Token);
        Assert.Equal(a.Ring.State.Keys.Select(k => k.Kid), b.Ring.State.Keys.Select(k => k.Kid));
        Assert.Equal(200, await RotationRig.StatusAsync(b, RotationRig.Issue(a)));
        Assert.Equal(200, await RotationRig.StatusAsync(a, RotationRig.Issue(b)));
    }

    [Fact]
    public async Task KEY_11_TwoReplicasDueToRotateAtTheSameMoment_RotateOnce_NotOnceEach()
    {
        using var data = new TemporaryDirectory();
        var clock = NewClock();
        await using var a = await RotationRig.StartAsync(data, clock);
        await using var b = await RotationRig.StartAsync(data, clock);
        var first = RotationRig.Record(a, a.ActiveKey.Kid);

        // The schedule makes both replicas due at once; their background maintenance fires on this tick too, and eight
        // more maintenance runs race them on purpose.
        RotationRig.AdvanceTo(clock, first.ActivateAt + RotationRig.RotationPeriod - RotationRig.Lead);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).Ring.MaintainAsync(Token)));
        var rotated = await Task.WhenAll(a.Ring.RotateAsync(Token), b.Ring.RotateAsync(Token));

        await a.Ring.RefreshAsync(Token);
        await b.Ring.RefreshAsync(Token);
        Assert.Equal(2, a.Ring.State.Keys.Count);
        var pending = Assert.Single(a.Ring.State.Keys, k => k.StateAt(clock.GetUtcNow()) == SigningKeyState.Pending);
        Assert.Equal([pending.Kid, pending.Kid], rotated.Select(r => r.Kid));
        Assert.Equal(a.Ring.State.Keys.Select(k => k.Kid), b.Ring.State.Keys.Select(k => k.Kid));
        Assert.Equal(first.ActivateAt + RotationRig.RotationPeriod, pending.ActivateAt);
        Assert.Equal((await RotationRig.JwksAsync(a)).Kids, (await RotationRig.JwksAsync(b)).Kids);

        // And once more at the next period: three keys in all, never four.
        RotationRig.AdvanceTo(clock, pending.ActivateAt + RotationRig.RotationPeriod - RotationRig.Lead);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).Ring.MaintainAsync(Token)));
        await a.Ring.RefreshAsync(Token);
        Assert.Equal(3, a.Ring.State.Keys.Count);
        Assert.Single(a.Ring.State.Keys, k => k.StateAt(clock.GetUtcNow()) == SigningKeyState.Pending);
    }

    [Fact]
    public async Task KEY_06_AKeyRevokedOnOneReplica_FailsThereAtOnce_AndOnTheOtherAfterItsNextRefresh()
    {
        using var data = new TemporaryDirectory();
        var clock = NewClock();
        await using var a = await RotationRig.StartAsync(data, clock);
        await using var b = await RotationRig.StartAsync(data, clock);
        var token = RotationRig.Issue(a);
        var revoked = RotationRig.KidOf(token);
        Assert.Equal(200, await RotationRig.StatusAsync(a, token));
        Assert.Equal(200, await RotationRig.StatusAsync(b, token));

        Assert.True(await a.Ring.RevokeAsync(revoked, Token));
        Assert.Equal(401, await RotationRig.StatusAsync(a, token));

        // The other replica learns it at its next check (the revocation SLO is one Keys:CheckInterval).
        clock.Advance(RotationRig.CheckInterval);
        await RotationRig.EventuallyAsync(async () => await RotationRig.StatusAsync(b, token) == 401, "replica B refuses the revoked key");
        Assert.DoesNotContain(revoked, (await RotationRig.JwksAsync(b)).Kids);

        // The replacement key A signs with now is accepted by B (same store).
        Assert.Equal(200, await RotationRig.StatusAsync(b, RotationRig.Issue(a)));
        Assert.Equal(200, await RotationRig.StatusAsync(a, RotationRig.Issue(b)));
    }

    [Fact]
    public async Task KEY_04_06_AfterAnEmergencyRevocation_ABurstOfTheReplacementKeysTokens_AtAReplicaThatHasNotRefreshed_IsAllAccepted()
    {
        using var data = new TemporaryDirectory();
        var clock = NewClock();
        await using var a = await RotationRig.StartAsync(data, clock);
        await using var b = await RotationRig.StartAsync(data, clock, builder => builder.Services.AddSingleton<ISigningKeyStore>(sp => new CountingSigningKeyStore(new SqliteSigningKeyStore(sp.GetRequiredService<SqliteDatabase>()))));
        var bStore = (CountingSigningKeyStore)b.Server.GetRequiredService<ISigningKeyStore>();
        var old = RotationRig.Issue(a);
        Assert.Equal(200, await RotationRig.StatusAsync(b, old));

        // No pending key, so the replacement signs at once, before B has seen it (the clock does not move: no B tick).
        Assert.True(await a.Ring.RevokeAsync(RotationRig.KidOf(old), Token));
        var burst = Enumerable.Range(0, 12).Select(_ => RotationRig.Issue(a)).ToList();
        Assert.DoesNotContain(b.Ring.State.Keys, k => k.Kid == RotationRig.KidOf(burst[0]));
        bStore.LoadDelay = TimeSpan.FromMilliseconds(300);
        var loads = bStore.Loads;

        var statuses = await Task.WhenAll(burst.Select(t => RotationRig.StatusAsync(b, t)));

        // One reload for the unknown kid admits every token of the burst, and brings the revocation along with it.
        Assert.All(statuses, s => Assert.Equal(200, s));
        Assert.Equal(401, await RotationRig.StatusAsync(b, old));
        Assert.Equal(12, b.Vault.Calls - 1);
        Assert.Equal(1, bStore.Loads - loads);
    }

    [Fact]
    public async Task KEY_10_11_RotationUnderLoad_ConcurrentValidationsOnBothReplicas_SeeNoSpurious401()
    {
        using var data = new TemporaryDirectory();
        var clock = NewClock();
        await using var a = await RotationRig.StartAsync(data, clock);
        await using var b = await RotationRig.StartAsync(data, clock);
        var refused = new ConcurrentQueue<string>();
        var accepted = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);

        // Four workers: each issues a token on one replica and presents it to the other (or the same), as fast as it can.
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var issuer = (worker + i) % 2 == 0 ? a : b;
                var validator = worker % 2 == 0 ? a : b;
                var token = RotationRig.Issue(issuer);
                var status = await RotationRig.StatusAsync(validator, token);
                if (status == 200)
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    refused.Enqueue($"{status} for kid {RotationRig.KidOf(token)} at {clock.GetUtcNow():O}");
                }
            }
        })).ToList();

        // Three rotations, with the clock moving in Keys:CheckInterval steps as real time would; each new key is waited
        // for on both replicas before it signs (that is what the publication lead guarantees in production).
        var kids = new HashSet<string>(StringComparer.Ordinal) { a.ActiveKey.Kid };
        for (var round = 0; round < 3; round++)
        {
            var next = await (round % 2 == 0 ? a : b).Ring.RotateAsync(Token);
            kids.Add(next.Kid);
            bool BothHoldIt() => a.Ring.State.Keys.Any(k => k.Kid == next.Kid) && b.Ring.State.Keys.Any(k => k.Kid == next.Kid);
            while (clock.GetUtcNow() < next.ActivateAt + TimeSpan.FromMinutes(2))
            {
                if (clock.GetUtcNow() + RotationRig.CheckInterval >= next.ActivateAt)
                {
                    await RotationRig.EventuallyAsync(() => Task.FromResult(BothHoldIt()), $"both replicas hold the next key before it signs (round {round}: A has {a.Ring.State.Keys.Count} keys, B {b.Ring.State.Keys.Count})");
                }

                clock.Advance(RotationRig.CheckInterval);
                await Task.Delay(5, Token);
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Empty(refused);
        Assert.True(accepted > 0);
        Assert.Equal(4, kids.Count);
        Assert.Equal(accepted, a.Vault.Calls + b.Vault.Calls);
    }
}
