using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Scaling.Limits;
using Switchboard.Security;

namespace Switchboard.Benchmarks;

/// <summary>
/// What the rate-limit stage adds to an admitted call: finding the caller's budget, taking a token, taking and giving
/// back bulkhead slots. Limits are set far above what one core can ask (beyond what configuration accepts), so every
/// call is admitted: the cost of a refusal is not the question.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private CallLimiter _rateOnly = null!;
    private CallLimiter _everyLimit = null!;
    private ClaimsPrincipal _caller = null!;

    [GlobalSetup]
    public void Setup()
    {
        _caller = new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim(SwitchboardClaims.Subject, "switchboard-bench"),
                new Claim(SwitchboardClaims.ClientId, "bench"),
                new Claim(SwitchboardClaims.Issuer, "https://switchboard.local"),
                new Claim(SwitchboardClaims.Scope, "tools:*"),
            ],
            "Bearer"));
        _rateOnly = new CallLimiter(
            Options.Create(new CallLimitOptions { PerCaller = { RequestsPerSecond = 1e12, Burst = int.MaxValue } }),
            Options.Create(new SwitchboardOptions()),
            TimeProvider.System);
        _everyLimit = new CallLimiter(
            Options.Create(new CallLimitOptions { PerCaller = { RequestsPerSecond = 1e12, Burst = int.MaxValue, MaxConcurrentCalls = 1000, MaxQueuedCalls = 100 } }),
            Options.Create(new SwitchboardOptions { Plugins = { ["text"] = new PluginSettings { MaxConcurrentCalls = 1000, MaxQueuedCalls = 100 } } }),
            TimeProvider.System);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rateOnly.Dispose();
        _everyLimit.Dispose();
    }

    /// <summary>The caller's token bucket only.</summary>
    [Benchmark(Baseline = true)]
    public async Task<bool> Admit_RateOnly()
    {
        using var admission = await _rateOnly.AdmitAsync(_caller, "text", CancellationToken.None);
        return admission.Refusal is null;
    }

    /// <summary>The caller's bucket and bulkhead, and the plugin's bulkhead.</summary>
    [Benchmark]
    public async Task<bool> Admit_RateAndBulkheads()
    {
        using var admission = await _everyLimit.AdmitAsync(_caller, "text", CancellationToken.None);
        return admission.Refusal is null;
    }
}
