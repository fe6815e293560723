using Switchboard.Security;
using Switchboard.Tests.Security.KeyRotation;
using Switchboard.Tests.Security.Support;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security;

/// <summary>
/// Revoking one token by its <c>jti</c> (catalog JWT-J02): refused at once by the replica that revoked it, cached or
/// not, by every other replica sharing the data folder at its next key check, and by a replica that starts later; other
/// tokens of the same key keep working; the entry is forgotten once the token has expired anyway. Real Kestrel, real
/// SQLite, one fake clock.
/// </summary>
public sealed class TokenRevocationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARevokedToken_IsRefused_EvenWhenCached_WhileOtherTokensOfTheSameKeyPass()
    {
        await using var target = await RotationRig.StartAsync();
        var leaked = RotationRig.Issue(target);
        var other = RotationRig.Issue(target);
        Assert.Equal(200, await RotationRig.StatusAsync(target, leaked));
        Assert.Equal(200, await RotationRig.StatusAsync(target, leaked));
        Assert.Equal(200, await RotationRig.StatusAsync(target, other));

        var revocations = target.Server.GetRequiredService<TokenRevocationList>();
        var jti = CompactJwt.ClaimOf(leaked, "jti");
        Assert.True(await revocations.RevokeAsync(AttackTarget.Issuer, jti, CompactJwt.ExpiryOf(leaked), "leaked in a log", Token));
        Assert.False(await revocations.RevokeAsync(AttackTarget.Issuer, jti, CompactJwt.ExpiryOf(leaked), "again", Token));

        Assert.Equal(401, await RotationRig.StatusAsync(target, leaked));
        Assert.Equal(200, await RotationRig.StatusAsync(target, other));
        Assert.Equal(CompactJwt.KidOf(leaked), CompactJwt.KidOf(other));

        // The same jti from another issuer is another token.
        Assert.False(revocations.IsRevoked("https://other.example", jti));
        var listed = Assert.Single(await revocations.ListAsync(Token));
        Assert.Equal((AttackTarget.Issuer, jti, "leaked in a log"), (listed.Issuer, listed.TokenId, listed.Reason));
    }

    [Fact]
    public async Task ARevocation_ReachesOtherReplicasAtTheirNextCheck_AndNewReplicasAtStart_AndEndsWithTheToken()
    {
        using var data = new TemporaryDirectory();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()));
        await using var a = await RotationRig.StartAsync(data, clock);
        await using var b = await RotationRig.StartAsync(data, clock);
        var leaked = RotationRig.Issue(a, TimeSpan.FromMinutes(10));
        Assert.Equal(200, await RotationRig.StatusAsync(b, leaked));

        await a.Server.GetRequiredService<TokenRevocationList>().RevokeAsync(AttackTarget.Issuer, CompactJwt.ClaimOf(leaked, "jti"), CompactJwt.ExpiryOf(leaked), null, Token);
        Assert.Equal(401, await RotationRig.StatusAsync(a, leaked));

        // B has not checked since: it still accepts the token (the documented propagation window), then refuses it.
        Assert.Equal(200, await RotationRig.StatusAsync(b, leaked));
        clock.Advance(RotationRig.CheckInterval);
        await RotationRig.EventuallyAsync(async () => await RotationRig.StatusAsync(b, leaked) == 401, "replica B to refuse the token after its next check");

        // A replica that starts now refuses it before its first check.
        await using (var c = await RotationRig.StartAsync(data, clock))
        {
            Assert.Equal(401, await RotationRig.StatusAsync(c, leaked));
        }

        // Past exp plus skew the token is refused for its age, and the revocation is dropped from memory and storage.
        clock.Advance(TimeSpan.FromMinutes(10) + RotationRig.Skew + RotationRig.CheckInterval);
        var revocationsOfB = b.Server.GetRequiredService<TokenRevocationList>();
        await RotationRig.EventuallyAsync(() => Task.FromResult(revocationsOfB.Count == 0), "replica B to forget the expired revocation");
        Assert.Empty(await revocationsOfB.ListAsync(Token));
        Assert.Equal(401, await RotationRig.StatusAsync(b, leaked));
    }
}
