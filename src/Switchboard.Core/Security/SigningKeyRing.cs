using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security;

/// <summary>
/// The signing-key ring. Keys move through pending → active → retiring → retired on a schedule fixed when they are
/// created; revoked removes one at once. The schedule follows the configuration:
/// <list type="bullet">
/// <item>a new key is published at least <c>JwksMaxAge + PublicationMargin</c> before it signs, so every verifier that
/// caches our JWKS already has it;</item>
/// <item>an old key stays published and accepted for <c>MaxTokenLifetime + ClockSkew</c> after it stops signing, so every
/// token it signed expires before it disappears;</item>
/// <item>rotation happens every <c>RotationPeriod</c>; there is always exactly one active key.</item>
/// </list>
/// Changes are committed with a compare-and-swap on the ring version, so replicas sharing a store rotate once.
/// </summary>
public sealed partial class SigningKeyRing(
    ISigningKeyStore store,
    KeyEncryptionKeyProvider encryption,
    IOptions<SecurityOptions> options,
    TimeProvider timeProvider,
    ILogger<SigningKeyRing> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, AsymmetricSecurityKey> _privateKeys = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private volatile Snapshot _snapshot = new(new KeyRingState(-1, []), []);
    private long _lastUnknownKidRefresh;

    /// <summary>The keys as last loaded, with the ring version.</summary>
    public KeyRingState State => _snapshot.State;

    /// <summary>How long before signing a key is published.</summary>
    public TimeSpan PublicationLead => options.Value.Keys.JwksMaxAge + options.Value.Keys.PublicationMargin;

    /// <summary>How long after it stops signing a key is still accepted.</summary>
    public TimeSpan Retention => options.Value.MaxTokenLifetime + options.Value.ClockSkew;

    /// <summary>Reloads the ring from the store.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var state = await store.LoadAsync(cancellationToken);
        var publicKeys = new Dictionary<string, (AsymmetricSecurityKey Key, SigningKeyRecord Record)>(StringComparer.Ordinal);
        foreach (var record in state.Keys)
        {
            if (JsonNode.Parse(record.PublicJwk) is JsonObject jwk && SigningKeyMaterial.PublicKey(jwk, out _) is { } key)
            {
                publicKeys[record.Kid] = (key, record);
            }
        }

        _snapshot = new Snapshot(state, publicKeys);
        foreach (var kid in _privateKeys.Keys)
        {
            if (!publicKeys.ContainsKey(kid))
            {
                _privateKeys.TryRemove(kid, out _);
            }
        }
    }

    /// <summary>
    /// Brings the ring up to its schedule: creates the first key, schedules the next one in time, promotes a pending key
    /// when the active one was revoked, and deletes keys long gone. Safe to run on every replica at once.
    /// </summary>
    public async Task<bool> MaintainAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await RefreshAsync(cancellationToken);
            var plan = Plan(_snapshot.State.Keys, timeProvider.GetUtcNow());
            if (plan.Upserts.Count == 0 && plan.Deletions.Count == 0)
            {
                return false;
            }

            if (await store.TryCommitAsync(_snapshot.State.Version, plan.Upserts, plan.Deletions, cancellationToken))
            {
                foreach (var created in plan.Created)
                {
                    Log.KeyCreated(logger, created.Kid, created.Algorithm, created.ActivateAt);
                }

                await RefreshAsync(cancellationToken);
                return true;
            }

            // Another replica changed the ring first: reload and decide again.
        }

        throw new InvalidOperationException("The signing-key ring kept changing under this replica; maintenance gave up for now.");
    }

    /// <summary>Schedules the next key now (it signs after the publication lead); returns it, or the one already pending.</summary>
    public async Task<SigningKeyRecord> RotateAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await RefreshAsync(cancellationToken);
            var now = timeProvider.GetUtcNow();
            var keys = _snapshot.State.Keys;
            if (keys.FirstOrDefault(k => k.StateAt(now) == SigningKeyState.Pending) is { } pending)
            {
                return pending;
            }

            var active = keys.FirstOrDefault(k => k.StateAt(now) == SigningKeyState.Active);
            var next = NewKey(now, now + PublicationLead);
            var upserts = new List<SigningKeyRecord> { next };
            if (active is not null)
            {
                upserts.Add(active with { RetireAt = next.ActivateAt, ExpireAt = next.ActivateAt + Retention });
            }

            if (await store.TryCommitAsync(_snapshot.State.Version, upserts, [], cancellationToken))
            {
                Log.KeyCreated(logger, next.Kid, next.Algorithm, next.ActivateAt);
                await RefreshAsync(cancellationToken);
                return next;
            }
        }

        throw new InvalidOperationException("The signing-key ring kept changing; try again.");
    }

    /// <summary>Revokes a key at once. When it was the active key, another one takes over immediately.</summary>
    public async Task<bool> RevokeAsync(string kid, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await RefreshAsync(cancellationToken);
            var record = _snapshot.State.Keys.FirstOrDefault(k => k.Kid == kid);
            if (record is null)
            {
                return false;
            }

            if (record.RevokedAt is not null)
            {
                return true;
            }

            // Revoking the next key must also cancel the hand-over to it: the active key was scheduled to retire when the
            // revoked one took over. Left as it was, the ring had no active key at that moment, and maintenance then
            // created a key that signed at once, unpublished (KEY-04/06).
            var now = timeProvider.GetUtcNow();
            var upserts = new List<SigningKeyRecord> { record with { RevokedAt = now } };
            if (record.StateAt(now) == SigningKeyState.Pending
                && _snapshot.State.Keys.FirstOrDefault(k => k.StateAt(now) == SigningKeyState.Active && k.RetireAt == record.ActivateAt) is { } handingOver)
            {
                upserts.Add(handingOver with { RetireAt = null, ExpireAt = null });
            }

            if (await store.TryCommitAsync(_snapshot.State.Version, upserts, [], cancellationToken))
            {
                Log.KeyRevoked(logger, kid);
                _privateKeys.TryRemove(kid, out _);
                await MaintainAsync(cancellationToken);
                return true;
            }
        }

        throw new InvalidOperationException("The signing-key ring kept changing; try again.");
    }

    /// <summary>The credentials of the active key, or null when the ring has none (not initialized yet).</summary>
    public SigningCredentials? GetSigningCredentials()
    {
        var now = timeProvider.GetUtcNow();
        var active = _snapshot.State.Keys.FirstOrDefault(k => k.StateAt(now) == SigningKeyState.Active);
        if (active is null)
        {
            return null;
        }

        var key = _privateKeys.GetOrAdd(active.Kid, _ =>
        {
            var pkcs8 = encryption.Encryptor.Decrypt(active.Kid, active.EncryptedPrivateKey);
            return SigningKeyMaterial.PrivateKey(active, pkcs8);
        });
        return new SigningCredentials(key, active.Algorithm);
    }

    /// <summary>
    /// The key that validates tokens with this <paramref name="kid"/>: only an active or retiring key of our ring, and
    /// only with the algorithm it was created for.
    /// </summary>
    public bool TryGetValidationKey(string kid, out SecurityKey key, out string algorithm)
    {
        key = null!;
        algorithm = string.Empty;
        if (!_snapshot.PublicKeys.TryGetValue(kid, out var entry) || !entry.Record.ValidatesAt(timeProvider.GetUtcNow()))
        {
            return false;
        }

        key = entry.Key;
        algorithm = entry.Record.Algorithm;
        return true;
    }

    /// <summary>
    /// For an unknown <paramref name="kid"/>: reloads the ring at most once per <paramref name="minimumInterval"/>, in
    /// case another replica (or the CLI) has just added a key. Returns true when a reload happened.
    /// </summary>
    public async Task<bool> TryRefreshForUnknownKidAsync(TimeSpan minimumInterval, CancellationToken cancellationToken)
    {
        // Callers that arrive while a reload is in flight wait for it (and then look the kid up again) rather than give up
        // at once: giving up refused with 401 the very tokens the reload was about to admit, when a burst of them met a
        // replica that had not seen their key yet (rotation under load).
        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetTimestamp();
            var last = Interlocked.Read(ref _lastUnknownKidRefresh);
            if (last != 0 && timeProvider.GetElapsedTime(last, now) < minimumInterval)
            {
                return false;
            }

            Interlocked.Exchange(ref _lastUnknownKidRefresh, now);
            await RefreshAsync(cancellationToken);
            return true;
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>The JWKS: public parts only, of the keys pending, active or retiring now.</summary>
    public JsonObject PublishedKeySet()
    {
        var now = timeProvider.GetUtcNow();
        var keys = new JsonArray();
        foreach (var record in _snapshot.State.Keys)
        {
            if (record.IsPublishedAt(now) && JsonNode.Parse(record.PublicJwk) is JsonObject jwk)
            {
                keys.Add((JsonNode)jwk);
            }
        }

        return new JsonObject { ["keys"] = keys };
    }

    private (List<SigningKeyRecord> Upserts, List<string> Deletions, List<SigningKeyRecord> Created) Plan(IReadOnlyList<SigningKeyRecord> keys, DateTimeOffset now)
    {
        var settings = options.Value.Keys;
        var upserts = new List<SigningKeyRecord>();
        var created = new List<SigningKeyRecord>();
        var active = keys.FirstOrDefault(k => k.StateAt(now) == SigningKeyState.Active);
        var pending = keys.Where(k => k.StateAt(now) == SigningKeyState.Pending).OrderBy(k => k.ActivateAt).FirstOrDefault();

        if (active is null)
        {
            // First start, or the active key was revoked: sign now, with a pending key if one is already published.
            var next = pending is not null ? pending with { ActivateAt = now } : NewKey(now, now);
            upserts.Add(next);
            if (pending is null)
            {
                created.Add(next);
            }
        }
        else if (pending is null && now >= active.ActivateAt + settings.RotationPeriod - PublicationLead)
        {
            var activateAt = Max(now + PublicationLead, active.ActivateAt + settings.RotationPeriod);
            var next = NewKey(now, activateAt);
            upserts.Add(next);
            created.Add(next);
            upserts.Add(active with { RetireAt = activateAt, ExpireAt = activateAt + Retention });
        }

        // Keys past their end are kept for a day (visible in `keys list`), then deleted.
        var deletions = keys
            .Where(k => (k.ExpireAt is { } expired && now > expired + TimeSpan.FromDays(1)) || (k.RevokedAt is { } revoked && now > revoked + Retention + TimeSpan.FromDays(1)))
            .Select(k => k.Kid)
            .ToList();
        return (upserts, deletions, created);
    }

    private SigningKeyRecord NewKey(DateTimeOffset now, DateTimeOffset activateAt)
    {
        var algorithm = options.Value.Keys.Algorithm;
        var (kid, jwk, pkcs8) = SigningKeyMaterial.Create(algorithm);
        return new SigningKeyRecord(kid, algorithm, now, activateAt, null, null, null, jwk, encryption.Encryptor.Encrypt(kid, pkcs8));
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    public void Dispose() => _refreshLock.Dispose();

    private sealed record Snapshot(KeyRingState State, Dictionary<string, (AsymmetricSecurityKey Key, SigningKeyRecord Record)> PublicKeys);

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, EventName = "SigningKeyCreated", Level = LogLevel.Information, Message = "Signing key {Kid} ({Algorithm}) created; it signs from {ActivateAt:O}")]
        public static partial void KeyCreated(ILogger logger, string kid, string algorithm, DateTimeOffset activateAt);

        [LoggerMessage(EventId = 6002, EventName = "SigningKeyRevoked", Level = LogLevel.Warning, Message = "Signing key {Kid} revoked")]
        public static partial void KeyRevoked(ILogger logger, string kid);
    }
}
