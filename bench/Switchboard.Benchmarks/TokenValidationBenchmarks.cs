using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Hosting;
using Switchboard.Security;
using Switchboard.Storage;

namespace Switchboard.Benchmarks;

/// <summary>
/// What authentication costs per HTTP or REST request: validating one ES256 access token issued by the server's own
/// key ring (structure, header allow-list, claims, signature, issuer/audience/lifetime), as <c>AccessTokenValidator</c>
/// runs it for every bearer token. WebSocket pays this once per connection.
/// </summary>
[MemoryDiagnoser]
public class TokenValidationBenchmarks
{
    private GatewayFixture _fixture = null!;
    private AccessTokenValidator _validator = null!;
    private string _dataDirectory = null!;
    private string _token = null!;
    private string _forged = null!;
    private readonly List<IHostedService> _started = [];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), "switchboard-benchmarks-tokens-" + Guid.NewGuid().ToString("N"));
        _fixture = await GatewayFixture.CreateAsync(new Dictionary<string, string?>
        {
            ["Switchboard:DataDirectory"] = _dataDirectory,
            ["Switchboard:Security:RequireAuthentication"] = "true",
        });

        // The key ring lives in the SQLite file: open storage, then create the first signing key, as `serve` does.
        foreach (var service in _fixture.Get<IEnumerable<IHostedService>>().Where(s => s is StorageInitializer or KeyRingMaintenance))
        {
            await service.StartAsync(CancellationToken.None);
            _started.Add(service);
        }

        _validator = _fixture.Get<AccessTokenValidator>();
        _token = _fixture.Get<AccessTokenIssuer>().Issue(new TokenRequest("switchboard-bench", "switchboard-bench", "tools:*")).AccessToken;
        _forged = _token[..^4] + (_token[^4] == 'A' ? "BBBB" : "AAAA");

        // Measure only what works: the real token is accepted, the forged one refused.
        if ((await Validate()).Principal is null || (await ValidateForged()).Principal is not null)
        {
            throw new InvalidOperationException("token validation does not behave as expected");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var service in _started)
        {
            await service.StopAsync(CancellationToken.None);
        }

        await _fixture.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    /// <summary>A valid bearer token: the cost every authenticated HTTP/REST request pays.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<TokenValidationOutcome> Validate() => _validator.ValidateAsync(_token, CancellationToken.None);

    /// <summary>A token with a broken signature: refused after the signature check.</summary>
    [Benchmark]
    public ValueTask<TokenValidationOutcome> ValidateForged() => _validator.ValidateAsync(_forged, CancellationToken.None);
}
