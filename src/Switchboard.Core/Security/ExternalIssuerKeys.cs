using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>
/// The signing keys of configured external issuers, fetched from their JWKS URIs. Keys are cached for the issuer's
/// refresh interval; an unknown <c>kid</c> causes at most one fetch per minimum interval (so a flood of made-up
/// <c>kid</c>s cannot turn into a flood of fetches). A fetch that fails or returns an unacceptable document keeps the
/// last good keys for a bounded time, then fails closed. Redirects are not followed, the body is size-capped, and a key
/// set containing private members or duplicate <c>kid</c>s is refused as a whole.
/// </summary>
public sealed partial class ExternalIssuerKeys(
    IOptions<SecurityOptions> options,
    IHttpClientFactory httpClientFactory,
    TimeProvider timeProvider,
    ILogger<ExternalIssuerKeys> logger)
{
    public const string HttpClientName = "switchboard-jwks";
    private const int MaxDocumentBytes = 256 * 1024;
    private const int MaxKeys = 100;
    private static readonly TimeSpan s_maxStaleness = TimeSpan.FromDays(1);
    private static readonly string[] s_privateMembers = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

    private readonly ConcurrentDictionary<string, IssuerState> _issuers = new(StringComparer.Ordinal);

    /// <summary>How many JWKS fetches have been attempted (diagnostics and tests).</summary>
    public long FetchCount => Interlocked.Read(ref _fetches);

    private long _fetches;

    public bool IsConfigured(string issuer) => options.Value.ExternalIssuers.Any(i => string.Equals(i.Issuer, issuer, StringComparison.Ordinal));

    public async ValueTask<(SecurityKey Key, string Algorithm)?> TryGetKeyAsync(string issuer, string kid, CancellationToken cancellationToken)
    {
        var settings = options.Value.ExternalIssuers.First(i => string.Equals(i.Issuer, issuer, StringComparison.Ordinal));
        var state = _issuers.GetOrAdd(issuer, _ => new IssuerState());
        var now = timeProvider.GetUtcNow();

        if (state.FetchedAt is null || now - state.FetchedAt > settings.RefreshInterval)
        {
            await FetchAsync(settings, state, cancellationToken);
        }

        if (state.Keys.TryGetValue(kid, out var entry) && IsUsable(state, settings, entry.Algorithm))
        {
            return entry;
        }

        // Unknown kid: the issuer may have rotated. FetchAsync refetches at most once per minimum interval; a request that
        // arrives while that refetch is in flight waits for it and looks again. (It used to give up as soon as it saw the
        // refetch had started, refusing with 401 the new key's tokens that the refetch was about to admit.)
        await FetchAsync(settings, state, cancellationToken);
        return state.Keys.TryGetValue(kid, out entry) && IsUsable(state, settings, entry.Algorithm) ? entry : null;
    }

    private bool IsUsable(IssuerState state, ExternalIssuerOptions settings, string algorithm)
        => state.FetchedAt is { } fetched
            && timeProvider.GetUtcNow() - fetched <= s_maxStaleness
            && settings.Algorithms.Contains(algorithm, StringComparer.Ordinal);

    private async Task FetchAsync(ExternalIssuerOptions settings, IssuerState state, CancellationToken cancellationToken)
    {
        await state.Lock.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have just fetched.
            if (state.LastAttemptAt is { } last && timeProvider.GetUtcNow() - last < settings.MinimumRefreshInterval)
            {
                return;
            }

            state.LastAttemptAt = timeProvider.GetUtcNow();
            Interlocked.Increment(ref _fetches);
            var keys = await DownloadAsync(settings, cancellationToken);
            if (keys is not null)
            {
                state.Keys = keys;
                state.FetchedAt = timeProvider.GetUtcNow();
            }
        }
        finally
        {
            state.Lock.Release();
        }
    }

    private async Task<Dictionary<string, (SecurityKey Key, string Algorithm)>?> DownloadAsync(ExternalIssuerOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            using var client = httpClientFactory.CreateClient(HttpClientName);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await client.GetAsync(new Uri(settings.JwksUri), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Log.FetchFailed(logger, settings.Issuer, $"HTTP {(int)response.StatusCode}");
                return null;
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var buffer = new byte[MaxDocumentBytes + 1];
            var read = 0;
            int n;
            while ((n = await body.ReadAsync(buffer.AsMemory(read), timeout.Token)) > 0)
            {
                read += n;
                if (read > MaxDocumentBytes)
                {
                    Log.FetchFailed(logger, settings.Issuer, "document too large");
                    return null;
                }
            }

            return Parse(buffer.AsSpan(0, read), settings, out var problem) ?? LogAndNull(settings, problem);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            Log.FetchFailed(logger, settings.Issuer, ex.GetType().Name);
            return null;
        }
    }

    private Dictionary<string, (SecurityKey Key, string Algorithm)>? LogAndNull(ExternalIssuerOptions settings, string problem)
    {
        Log.FetchFailed(logger, settings.Issuer, problem);
        return null;
    }

    internal static Dictionary<string, (SecurityKey Key, string Algorithm)>? Parse(ReadOnlySpan<byte> document, ExternalIssuerOptions settings, out string problem)
    {
        problem = string.Empty;
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(document, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 8 }) as JsonObject;
        }
        catch (JsonException)
        {
            problem = "not JSON";
            return null;
        }

        if (root?["keys"] is not JsonArray keys || keys.Count > MaxKeys)
        {
            problem = "no keys array, or too many keys";
            return null;
        }

        var result = new Dictionary<string, (SecurityKey, string)>(StringComparer.Ordinal);
        foreach (var node in keys)
        {
            if (node is not JsonObject jwk)
            {
                continue;
            }

            if (s_privateMembers.Any(jwk.ContainsKey))
            {
                problem = "a key has private members";
                return null;
            }

            // Members of the wrong JSON type make the key unusable, like any other unusable key (skipped). Read with
            // GetValue<string> they threw out of the fetch, and every request for the issuer answered 500 (KEY-08).
            if (jwk["use"] is not null && StringMember(jwk, "use") != "sig")
            {
                continue;
            }

            var kid = StringMember(jwk, "kid");
            if (string.IsNullOrEmpty(kid) || SigningKeyMaterial.PublicKey(jwk, out var algorithm) is not { } key || !settings.Algorithms.Contains(algorithm, StringComparer.Ordinal))
            {
                continue;
            }

            if (!result.TryAdd(kid, (key, algorithm)))
            {
                problem = "duplicate kid";
                return null;
            }
        }

        return result;
    }

    /// <summary>The member's value when it is a JSON string; otherwise null.</summary>
    internal static string? StringMember(JsonObject jwk, string name)
        => jwk[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private sealed class IssuerState
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        public Dictionary<string, (SecurityKey Key, string Algorithm)> Keys { get; set; } = new(StringComparer.Ordinal);

        public DateTimeOffset? FetchedAt { get; set; }

        public DateTimeOffset? LastAttemptAt { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, EventName = "JwksFetchFailed", Level = LogLevel.Warning, Message = "Could not refresh the keys of issuer {Issuer}: {Problem}; keeping the last good keys")]
        public static partial void FetchFailed(ILogger logger, string issuer, string problem);
    }
}
