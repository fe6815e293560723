using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// A plugin whose tools only count how often they ran (<see cref="TestPlugins.FixedResultInvoker"/>): <c>vault_read</c>,
/// <c>vault_write</c> and <c>vault_refund</c>. Attack tests assert <see cref="Calls"/> did not move.
/// </summary>
public sealed class CountingPlugin : IPluginSource
{
    public const string Name = "vault";

    private readonly Dictionary<string, TestPlugins.FixedResultInvoker> _invokers = new(StringComparer.Ordinal)
    {
        ["read"] = new("vault read"),
        ["write"] = new("vault write"),
        ["refund"] = new("vault refund"),
    };

    /// <summary>Invocations of every tool of the plugin, in total.</summary>
    public int Calls => _invokers.Values.Sum(i => i.Calls);

    public int CallsOf(string tool) => _invokers[tool].Calls;

    public ValueTask<IReadOnlyList<LoadedPlugin>> LoadAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<LoadedPlugin>>(
            [new LoadedPlugin(Name, "1.0.0", "attack suite", null, null, _invokers.Select(i => new PluginTool(TestPlugins.Tool(i.Key), i.Value)).ToList())
            {
                // The counters answer at once and never block, so they run inline: no pool hop between the deadline's
                // start and the call, which a step of the suites' fake clock could otherwise fall into.
                Execution = ToolExecution.Inline,
            }]);
}

/// <summary>
/// A Switchboard under attack: real Kestrel on loopback with authentication on, a fixed canonical identity
/// (<see cref="Issuer"/>, <see cref="Resource"/>), a <see cref="FakeTimeProvider"/> as its clock (so time edges are
/// exact), the counting plugin, a 60 s clock skew and a one-hour maximum token lifetime.
/// </summary>
public sealed class AttackTarget : IAsyncDisposable
{
    public const string Issuer = "https://switchboard.test";
    public const string Resource = "https://switchboard.test/mcp";
    public const string ResourceMetadata = "https://switchboard.test/.well-known/oauth-protected-resource/mcp";
    public static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(1);
    public const int MaxTokenBytes = 8192;

    private AttackTarget(SwitchboardTestServer server, FakeTimeProvider clock, CountingPlugin vault)
    {
        Server = server;
        Clock = clock;
        Vault = vault;
        Http = server.CreateHttpClient();
    }

    public SwitchboardTestServer Server { get; }

    public FakeTimeProvider Clock { get; }

    public CountingPlugin Vault { get; }

    public HttpClient Http { get; }

    public DateTimeOffset Now => Clock.GetUtcNow();

    public SigningKeyRing Ring => Server.GetRequiredService<SigningKeyRing>();

    /// <summary>The ring's active key, with its private part (as a replica holds it).</summary>
    public TestSigner ActiveKey
    {
        get
        {
            var credentials = Ring.GetSigningCredentials() ?? throw new InvalidOperationException("no active key");
            return credentials.Key switch
            {
                ECDsaSecurityKey ec => TestSigner.FromEcdsa(ec.KeyId, ec.ECDsa),
                RsaSecurityKey rsa => TestSigner.FromRsa(rsa.KeyId, rsa.Rsa),
                _ => throw new InvalidOperationException("unexpected key type"),
            };
        }
    }

    /// <summary>
    /// Any key of the ring with its private part, decrypted from the store as a replica would (used to play a replica
    /// that signs with a key it should not sign with yet, or any more).
    /// </summary>
    public TestSigner KeyOf(string kid)
    {
        var record = Ring.State.Keys.Single(k => k.Kid == kid);
        var pkcs8 = Server.GetRequiredService<KeyEncryptionKeyProvider>().Encryptor.Decrypt(kid, record.EncryptedPrivateKey);
        return SigningKeyMaterial.PrivateKey(record, pkcs8) switch
        {
            ECDsaSecurityKey ec => TestSigner.FromEcdsa(kid, ec.ECDsa),
            RsaSecurityKey rsa => TestSigner.FromRsa(kid, rsa.Rsa),
            _ => throw new InvalidOperationException("unexpected key type"),
        };
    }

    public static async Task<AttackTarget> StartAsync(
        string algorithm = "ES256",
        IReadOnlyDictionary<string, string?>? configuration = null,
        TemporaryDirectory? dataDirectory = null,
        FakeTimeProvider? clock = null,
        Action<ISwitchboardBuilder>? configure = null,
        CancellationToken cancellationToken = default)
    {
        // Whole seconds, so token NumericDates line up exactly with the server's clock at the edges.
        clock ??= new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()));
        var vault = new CountingPlugin();
        var settings = new Dictionary<string, string?>
        {
            ["Switchboard:Security:Issuer"] = Issuer,
            ["Switchboard:Security:Resource"] = Resource,
            ["Switchboard:Security:ClockSkew"] = "00:01:00",
            ["Switchboard:Security:MaxTokenLifetime"] = "01:00:00",
            ["Switchboard:Security:DefaultTokenLifetime"] = "00:10:00",
            ["Switchboard:Security:MaxTokenBytes"] = MaxTokenBytes.ToString(CultureInfo.InvariantCulture),
            ["Switchboard:Security:Keys:Algorithm"] = algorithm,
        };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton<TimeProvider>(clock);
                b.Services.AddSingleton<IPluginSource>(vault);
                configure?.Invoke(b);
            },
            configuration: settings,
            dataDirectory: dataDirectory,
            authenticate: true,
            cancellationToken: cancellationToken);
        return new AttackTarget(server, clock, vault);
    }

    /// <summary>Default claims of a token from our issuer, valid now, for every vault tool.</summary>
    public JsonObject Claims(string scope = "tools:vault/*", TimeSpan? lifetime = null)
        => TokenForge.Claims(Issuer, Resource, Now, scope, lifetime);

    /// <summary>A token signed by <paramref name="signer"/> (the active ring key by default) after the edits.</summary>
    public string Token(Action<JsonObject>? header = null, Action<JsonObject>? claims = null, TestSigner? signer = null, string? signAs = null)
    {
        signer ??= ActiveKey;
        var h = TokenForge.Header(signAs ?? signer.Algorithm, signer.Kid);
        header?.Invoke(h);
        var c = Claims();
        claims?.Invoke(c);
        return TokenForge.FromJson(h.ToJsonString(), c.ToJsonString(), input => signer.SignAs(signAs ?? signer.Algorithm, input));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
