using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Scaling.Limits;
using Switchboard.Security;

namespace Switchboard.Tests.Scaling;

/// <summary>Rate limits and bulkheads against a fake clock: budgets, partitions, queues, refusals and forgetting idle callers.</summary>
public sealed class CallLimiterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ClaimsPrincipal Caller(string subject, string? tenant = null, string client = "app", string issuer = "https://issuer.test")
    {
        var claims = new List<Claim>
        {
            new(SwitchboardClaims.Subject, subject),
            new(SwitchboardClaims.Issuer, issuer),
            new(SwitchboardClaims.ClientId, client),
        };
        if (tenant is not null)
        {
            claims.Add(new Claim(SwitchboardClaims.Tenant, tenant));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, "Test"));
    }

    private static CallLimiter Limiter(CallLimitOptions options, FakeTimeProvider clock, Dictionary<string, PluginSettings>? plugins = null)
        => new(Options.Create(options), Options.Create(new SwitchboardOptions { Plugins = plugins ?? [] }), clock);

    private static Task<CallAdmission> AdmitAsync(CallLimiter limiter, ClaimsPrincipal caller, string plugin = "text")
        => limiter.AdmitAsync(caller, plugin, Token).AsTask();

    [Fact]
    public void WithNothingConfigured_TheLimiterIsInactive()
    {
        using var limiter = Limiter(new CallLimitOptions(), new FakeTimeProvider());
        Assert.False(limiter.IsActive);
    }

    [Fact]
    public async Task ARate_AdmitsTheBurst_ThenRefusesWithTheWaitUntilTheNextToken_ThenRefills()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { RequestsPerSecond = 0.5, Burst = 2 } }, clock);
        var alice = Caller("alice");

        Assert.Null((await AdmitAsync(limiter, alice)).Refusal);
        Assert.Null((await AdmitAsync(limiter, alice)).Refusal);
        var refused = (await AdmitAsync(limiter, alice)).Refusal;
        Assert.NotNull(refused);
        Assert.Equal(GatewayErrorKind.TooManyRequests, refused.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), refused.RetryAfter);
        Assert.Equal(429, refused.HttpStatus);
        Assert.Equal(GatewayError.TooManyRequestsCode, (int)refused.JsonRpcCode);
        Assert.Contains("0.5 tool calls per second (bursts of 2)", refused.Message, StringComparison.Ordinal);

        // Half a token is not a call; the wait shrinks with it.
        clock.Advance(TimeSpan.FromSeconds(1));
        var stillRefused = (await AdmitAsync(limiter, alice)).Refusal;
        Assert.Equal(TimeSpan.FromSeconds(1), stillRefused?.RetryAfter);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null((await AdmitAsync(limiter, alice)).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, alice)).Refusal);

        // A long quiet spell refills to the burst, not beyond it.
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Null((await AdmitAsync(limiter, alice)).Refusal);
        Assert.Null((await AdmitAsync(limiter, alice)).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, alice)).Refusal);
    }

    [Fact]
    public async Task BudgetsArePerSubjectAndIssuer_ByDefault()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { RequestsPerSecond = 1 } }, clock);

        Assert.Null((await AdmitAsync(limiter, Caller("alice"))).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, Caller("alice"))).Refusal);
        Assert.Null((await AdmitAsync(limiter, Caller("bob"))).Refusal);
        Assert.Null((await AdmitAsync(limiter, Caller("alice", issuer: "https://other-issuer.test"))).Refusal);
        Assert.Equal(3, limiter.CallerBudgetCount);
    }

    [Fact]
    public async Task PartitionByTenant_SharesOneBudgetAmongATenantsCallers()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PartitionBy = CallerPartition.Tenant, PerCaller = { RequestsPerSecond = 1, Burst = 2 } }, clock);

        Assert.Null((await AdmitAsync(limiter, Caller("alice", tenant: "acme"))).Refusal);
        Assert.Null((await AdmitAsync(limiter, Caller("carol", tenant: "acme"))).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, Caller("dave", tenant: "acme"))).Refusal);
        Assert.Null((await AdmitAsync(limiter, Caller("erin", tenant: "globex"))).Refusal);
    }

    [Fact]
    public async Task PartitionByClient_SharesOneBudgetAmongAClientsUsers()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PartitionBy = CallerPartition.Client, PerCaller = { RequestsPerSecond = 1 } }, clock);

        Assert.Null((await AdmitAsync(limiter, Caller("alice", client: "ide"))).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, Caller("bob", client: "ide"))).Refusal);
        Assert.Null((await AdmitAsync(limiter, Caller("bob", client: "batch"))).Refusal);
    }

    [Fact]
    public async Task ANamedCaller_GetsItsOwnLimits_InheritingWhatItLeavesOut()
    {
        var clock = new FakeTimeProvider();
        var options = new CallLimitOptions { PerCaller = { RequestsPerSecond = 1, MaxConcurrentCalls = 1 } };
        options.Callers["batch-bot"] = new CallerLimitSettings { RequestsPerSecond = 100 };
        using var limiter = Limiter(options, clock);

        using (var first = await AdmitAsync(limiter, Caller("batch-bot")))
        {
            Assert.Null(first.Refusal);

            // Its rate is its own (100/s), its concurrency inherited (1).
            var second = await AdmitAsync(limiter, Caller("batch-bot"));
            Assert.Contains("1 tool calls at a time", second.Refusal?.Message, StringComparison.Ordinal);
        }

        for (var i = 0; i < 50; i++)
        {
            using var admitted = await AdmitAsync(limiter, Caller("batch-bot"));
            Assert.Null(admitted.Refusal);
        }

        Assert.Null((await AdmitAsync(limiter, Caller("alice"))).Refusal);
        Assert.NotNull((await AdmitAsync(limiter, Caller("alice"))).Refusal);
    }

    [Fact]
    public async Task ABulkhead_RefusesCallsBeyondItsSlots_AndTakesThemAgainWhenOneEnds()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { MaxConcurrentCalls = 2 } }, clock);
        var alice = Caller("alice");

        var first = await AdmitAsync(limiter, alice);
        var second = await AdmitAsync(limiter, alice);
        Assert.Null(first.Refusal);
        Assert.Null(second.Refusal);
        var third = await AdmitAsync(limiter, alice);
        Assert.Equal(TimeSpan.FromSeconds(1), third.Refusal?.RetryAfter);
        Assert.Contains("2 tool calls at a time", third.Refusal!.Message, StringComparison.Ordinal);

        // Another caller has slots of its own.
        using (var bob = await AdmitAsync(limiter, Caller("bob")))
        {
            Assert.Null(bob.Refusal);
        }

        first.Dispose();
        using var fourth = await AdmitAsync(limiter, alice);
        Assert.Null(fourth.Refusal);
        second.Dispose();
    }

    [Fact]
    public async Task AQueue_HoldsCallsUpToItsLimit_InOrder_AndRefusesThoseThatWaitTooLong()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { QueueTimeout = TimeSpan.FromSeconds(5), PerCaller = { MaxConcurrentCalls = 1, MaxQueuedCalls = 2 } }, clock);
        var alice = Caller("alice");

        var running = await AdmitAsync(limiter, alice);
        var queued1 = AdmitAsync(limiter, alice);
        var queued2 = AdmitAsync(limiter, alice);
        Assert.False(queued1.IsCompleted);
        Assert.False(queued2.IsCompleted);

        // The queue is full: the next call is refused at once.
        var overflow = await AdmitAsync(limiter, alice);
        Assert.Contains("with up to 2 more waiting, each at most 5 s", overflow.Refusal?.Message, StringComparison.Ordinal);

        // The oldest waiter gets the slot that frees up.
        running.Dispose();
        var admitted = await queued1.WaitAsync(Token);
        Assert.Null(admitted.Refusal);
        Assert.False(queued2.IsCompleted);

        // The second waiter's time runs out while the slot stays taken.
        clock.Advance(TimeSpan.FromSeconds(5));
        var timedOut = await queued2.WaitAsync(Token);
        Assert.Equal(GatewayErrorKind.TooManyRequests, timedOut.Refusal?.Kind);

        admitted.Dispose();
        using var after = await AdmitAsync(limiter, alice);
        Assert.Null(after.Refusal);
    }

    [Fact]
    public async Task ACallerThatGivesUpWhileQueued_IsCancelled_AndLeavesNoSlotTaken()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { MaxConcurrentCalls = 1, MaxQueuedCalls = 1 } }, clock);
        var alice = Caller("alice");
        var running = await AdmitAsync(limiter, alice);
        using var cancel = new CancellationTokenSource();
        var queued = limiter.AdmitAsync(alice, "text", cancel.Token).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);

        // The cancelled waiter took no slot: the next call gets the one that frees up.
        running.Dispose();
        var next = await AdmitAsync(limiter, alice);
        Assert.Null(next.Refusal);

        // And its place in the queue is free again: one more call may wait, and is admitted when the slot frees.
        var waiting = AdmitAsync(limiter, alice);
        Assert.False(waiting.IsCompleted);
        next.Dispose();
        using var admittedLater = await waiting.WaitAsync(Token);
        Assert.Null(admittedLater.Refusal);
    }

    [Fact]
    public async Task ACallThatABulkheadRefuses_GivesItsTokenBack()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(
            new CallLimitOptions { PerCaller = { RequestsPerSecond = 0.001, Burst = 2, MaxConcurrentCalls = 1 } },
            clock,
            new() { ["slow"] = new PluginSettings { MaxConcurrentCalls = 1 } });
        var alice = Caller("alice");

        // Two tokens. The first call runs; the second is refused by alice's own bulkhead, then by the plugin's (bob holds
        // it), and neither refusal spends a token.
        var running = await AdmitAsync(limiter, alice);
        Assert.Contains("1 tool calls at a time", (await AdmitAsync(limiter, alice)).Refusal?.Message, StringComparison.Ordinal);
        Assert.Contains("1 tool calls at a time", (await AdmitAsync(limiter, alice)).Refusal?.Message, StringComparison.Ordinal);
        running.Dispose();
        var bob = await AdmitAsync(limiter, Caller("bob"), plugin: "slow");
        Assert.Contains("plugin 'slow'", (await AdmitAsync(limiter, alice, plugin: "slow")).Refusal?.Message, StringComparison.Ordinal);
        bob.Dispose();

        // The second token is still there: had either refusal spent it, this would be "Rate limit reached".
        using var second = await AdmitAsync(limiter, alice);
        Assert.Null(second.Refusal);
        Assert.Contains("Rate limit reached", (await AdmitAsync(limiter, Caller("alice"))).Refusal?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APluginBulkhead_BoundsThatPluginAcrossCallers_AndNoOther()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions(), clock, new() { ["slow"] = new PluginSettings { MaxConcurrentCalls = 1 } });
        Assert.True(limiter.IsActive);

        var held = await AdmitAsync(limiter, Caller("alice"), plugin: "slow");
        Assert.Null(held.Refusal);
        var refused = await AdmitAsync(limiter, Caller("bob"), plugin: "slow");
        Assert.Contains("plugin 'slow' runs at most 1 calls at a time", refused.Refusal?.Message, StringComparison.Ordinal);
        using (var other = await AdmitAsync(limiter, Caller("bob"), plugin: "text"))
        {
            Assert.Null(other.Refusal);
        }

        held.Dispose();
        using var again = await AdmitAsync(limiter, Caller("bob"), plugin: "slow");
        Assert.Null(again.Refusal);
    }

    [Fact]
    public async Task ARefusalByThePlugin_GivesTheCallersSlotBack()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { MaxConcurrentCalls = 1 } }, clock, new() { ["slow"] = new PluginSettings { MaxConcurrentCalls = 1 } });

        var held = await AdmitAsync(limiter, Caller("bob"), plugin: "slow");
        var refused = await AdmitAsync(limiter, Caller("alice"), plugin: "slow");
        Assert.NotNull(refused.Refusal);

        // Had the plugin's refusal kept alice's own slot, this would be refused as "1 tool calls at a time".
        using var elsewhere = await AdmitAsync(limiter, Caller("alice"), plugin: "text");
        Assert.Null(elsewhere.Refusal);
        held.Dispose();
    }

    [Fact]
    public async Task IdleBudgetsAreForgotten_BusyOrDrainedOnesAreKept_AndBoundsHoldAcrossASweep()
    {
        var clock = new FakeTimeProvider();
        using var limiter = Limiter(new CallLimitOptions { PerCaller = { RequestsPerSecond = 1, Burst = 1, MaxConcurrentCalls = 1 } }, clock);

        var busy = await AdmitAsync(limiter, Caller("alice"));
        using (var done = await AdmitAsync(limiter, Caller("bob")))
        {
            Assert.Null(done.Refusal);
        }

        Assert.Equal(2, limiter.CallerBudgetCount);

        // At the first sweep both buckets are refilled, but alice still runs a call.
        clock.Advance(CallLimiter.SweepInterval);
        Assert.Equal(1, limiter.CallerBudgetCount);

        // Alice's budget survived with its running call: her bound still holds.
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("1 tool calls at a time", (await AdmitAsync(limiter, Caller("alice"))).Refusal?.Message, StringComparison.Ordinal);

        // A drained bucket is not forgotten either (forgetting it would hand out a fresh burst).
        var drainedClock = new FakeTimeProvider();
        using var drained = Limiter(new CallLimitOptions { PerCaller = { RequestsPerSecond = 0.001, Burst = 1 } }, drainedClock);
        Assert.Null((await AdmitAsync(drained, Caller("carol"))).Refusal);
        drainedClock.Advance(CallLimiter.SweepInterval);
        Assert.Equal(1, drained.CallerBudgetCount);
        Assert.NotNull((await AdmitAsync(drained, Caller("carol"))).Refusal);

        busy.Dispose();
        clock.Advance(CallLimiter.SweepInterval);
        Assert.Equal(0, limiter.CallerBudgetCount);
        using var fresh = await AdmitAsync(limiter, Caller("alice"));
        Assert.Null(fresh.Refusal);
    }

    [Theory]
    [InlineData("RequestsPerSecond", "-1", "PerCaller:RequestsPerSecond must be between 0 (off) and 1000000")]
    [InlineData("Burst", "0", "PerCaller:Burst must be between 1 and 1000000")]
    [InlineData("MaxConcurrentCalls", "-2", "PerCaller:MaxConcurrentCalls must be between 0 (off) and 100000")]
    [InlineData("MaxQueuedCalls", "3", "PerCaller:MaxQueuedCalls needs MaxConcurrentCalls")]
    public async Task InvalidLimits_StopTheStart_NamingTheSetting(string setting, string value, string expected)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var server = await TestSupport.SwitchboardTestServer.StartAsync(
                configuration: new Dictionary<string, string?> { [$"Switchboard:Limits:PerCaller:{setting}"] = value },
                cancellationToken: Token);
        });
        Assert.Contains(expected, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidPluginBulkheads_StopTheStart_NamingTheSetting()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var server = await TestSupport.SwitchboardTestServer.StartAsync(
                configuration: new Dictionary<string, string?>
                {
                    ["Switchboard:Plugins:text:MaxConcurrentCalls"] = "-1",
                    ["Switchboard:Plugins:math:MaxQueuedCalls"] = "4",
                },
                cancellationToken: Token);
        });
        Assert.Contains("Switchboard:Plugins:text:MaxConcurrentCalls must be between 0 (off) and 100000", failure.ToString(), StringComparison.Ordinal);
        Assert.Contains("Switchboard:Plugins:math:MaxQueuedCalls needs MaxConcurrentCalls", failure.ToString(), StringComparison.Ordinal);
    }
}
