using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Hosting;

namespace Switchboard.Tests.TestSupport;

/// <summary>
/// A real Switchboard server on loopback (Kestrel, port 0) with its own temporary data folder and SQLite file.
/// Built exactly as <c>switchboard serve</c> builds it; without authentication (<c>--no-auth</c>) unless a test asks.
/// </summary>
public sealed class SwitchboardTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TemporaryDirectory _data;
    private readonly bool _ownsData;

    private SwitchboardTestServer(WebApplication app, TemporaryDirectory data, bool ownsData, StringWriter banner)
    {
        _app = app;
        _data = data;
        _ownsData = ownsData;
        Banner = banner;
    }

    public Uri BaseUri { get; private set; } = null!;

    public Uri McpUri => new(BaseUri, "/mcp");

    public IServiceProvider Services => _app.Services;

    public string DataDirectory => _data.Path;

    public StringWriter Banner { get; }

    /// <summary>
    /// The attack suites present hundreds of forged tokens from loopback to one server on purpose, which the
    /// failed-authentication limit would soon answer with 429 instead of validating; it is off unless a test sets it
    /// (<c>FailedAuthenticationLimitTests</c> does).
    /// </summary>
    private static Dictionary<string, string?> WithTestDefaults(IReadOnlyDictionary<string, string?>? configuration)
    {
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase) { ["Switchboard:Security:FailedAuthenticationsPerMinute"] = "0" };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return merged;
    }

    public static async Task<SwitchboardTestServer> StartAsync(
        Action<ISwitchboardBuilder>? configure = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        bool conformanceFixtures = false,
        TemporaryDirectory? dataDirectory = null,
        bool authenticate = false,
        string? configFile = null,
        CancellationToken cancellationToken = default)
    {
        var data = dataDirectory ?? new TemporaryDirectory();
        var banner = new StringWriter();
        var app = SwitchboardServer.Build(
            new ServeSettings
            {
                Urls = "http://127.0.0.1:0",
                DataDirectory = data.Path,
                ConformanceFixtures = conformanceFixtures,
                NoAuthentication = !authenticate,
                ConfigurationOverrides = WithTestDefaults(configuration),
                ConfigFile = configFile,
                BannerWriter = banner,
            },
            configure);

        var server = new SwitchboardTestServer(app, data, dataDirectory is null, banner);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            // Whatever the hosted services started before the failure (child processes) must not outlive the test.
            await server.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary>Issues an access token from this server's own key ring (authenticated servers only).</summary>
    public string IssueToken(string scope, string subject = "test-user", IReadOnlyList<string>? roles = null, string? tenant = null, TimeSpan? lifetime = null, string clientId = "test-client")
        => GetRequiredService<Switchboard.Security.AccessTokenIssuer>()
            .Issue(new Switchboard.Security.TokenRequest(subject, clientId, scope, lifetime, tenant, roles)).AccessToken;

    /// <summary>An HTTP client that sends the given bearer token on every request.</summary>
    public HttpClient CreateHttpClient(string bearerToken)
    {
        var client = CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        return client;
    }

    /// <summary>An HTTP client for this server (no default headers).</summary>
    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Every record of this server's audit log so far, in order, read from its database file.</summary>
    public async Task<List<System.Text.Json.Nodes.JsonObject>> ReadAuditRecordsAsync()
    {
        var store = GetRequiredService<Switchboard.Compliance.Audit.AuditLog>().Store;
        var token = TestContext.Current.CancellationToken;
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(5), token);
        var records = new List<System.Text.Json.Nodes.JsonObject>();
        await foreach (var row in Switchboard.Compliance.Audit.AuditStore.ReadRecordsAsync(connection, null, 0, token))
        {
            records.Add(System.Text.Json.Nodes.JsonNode.Parse(row.Record)!.AsObject());
        }

        return records;
    }

    public T GetRequiredService<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
            if (_ownsData)
            {
                _data.Dispose();
            }
        }
    }
}

/// <summary>A folder under the system temp folder, deleted on dispose.</summary>
public sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "switchboard-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
