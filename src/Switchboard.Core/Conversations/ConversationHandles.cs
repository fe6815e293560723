using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Security;

namespace Switchboard.Conversations;

/// <summary>
/// Who a conversation belongs to, as an opaque key: a hash of the caller's tenant, subject and client id. Handles and
/// stored conversations carry only this key, so a handle shown to the model reveals nothing about its owner.
/// </summary>
internal static class ConversationPrincipal
{
    /// <summary>The key of callers without credentials (authentication off): they are all the same principal.</summary>
    public static string Anonymous { get; } = KeyOf(null, "anonymous", null);

    public static string KeyOf(ClaimsPrincipal? caller) => caller is null
        ? Anonymous
        : KeyOf(caller.FindFirst(SwitchboardClaims.Tenant)?.Value, caller.FindFirst(SwitchboardClaims.Subject)?.Value ?? string.Empty, caller.FindFirst(SwitchboardClaims.ClientId)?.Value);

    private static string KeyOf(string? tenant, string subject, string? clientId)
    {
        var text = $"switchboard-conversation-owner\0{tenant}\0{subject}\0{clientId}";
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 18).ToArray());
    }
}

/// <summary>
/// Mints and verifies conversation handles: compact JWS (<c>typ: sb-conv+jwt</c>) signed by the server's signing-key
/// ring, carrying the conversation id and the owner's principal key. Every replica verifies them with the published
/// keys, and they rotate with the ring. A handle stays valid while the key that signed it is active or retiring; calls
/// made with a handle signed by an older key get a re-signed handle echoed in the result's <c>_meta</c>.
/// </summary>
internal sealed class ConversationHandles(SigningKeyRing ring, ResourceIdentity identity)
{
    public const string TokenType = "sb-conv+jwt";
    private const int MaxHandleLength = 2048;
    private const int MaxCachedHandles = 10_000;

    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };
    private static readonly string[] s_types = [TokenType];

    // Verifying a signature costs tens of microseconds; a handle is presented on every call of a conversation.
    private readonly ConcurrentDictionary<string, VerifiedHandle> _verified = new(StringComparer.Ordinal);

    /// <summary>A new random conversation id (128 bits, URL-safe).</summary>
    public static string NewConversationId() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));

    /// <summary>Signs a handle for <paramref name="conversationId"/> owned by <paramref name="owner"/>.</summary>
    public string Mint(string conversationId, string owner) => MintWithKey(conversationId, owner).Handle;

    /// <summary>Signs a handle; also returns the id of the key that signed it.</summary>
    public (string Handle, string KeyId) MintWithKey(string conversationId, string owner)
    {
        var credentials = ring.GetSigningCredentials()
            ?? throw new InvalidOperationException("The signing-key ring has no active key yet.");
        return (s_handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = identity.Issuer,
            TokenType = TokenType,
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["cid"] = conversationId,
                ["own"] = owner,
            },
        }), credentials.Key.KeyId);
    }

    /// <summary>
    /// Verifies a handle's signature and issuer. Says nothing about the owner (the caller compares it) or whether the
    /// conversation still exists (the store knows).
    /// </summary>
    public async ValueTask<VerifiedHandle?> VerifyAsync(string handle, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(handle) || handle.Length > MaxHandleLength)
        {
            return null;
        }

        if (_verified.TryGetValue(handle, out var cached))
        {
            // The signing key may have been revoked (or retired) since: still accepted only while the key validates.
            return ring.TryGetValidationKey(cached.KeyId, out _, out _) ? cached : null;
        }

        JsonWebToken token;
        try
        {
            token = new JsonWebToken(handle);
        }
        catch (ArgumentException)
        {
            return null;
        }

        if (token.Typ != TokenType || string.IsNullOrEmpty(token.Kid))
        {
            return null;
        }

        if (!ring.TryGetValidationKey(token.Kid, out var key, out var algorithm)
            && !(await ring.TryRefreshForUnknownKidAsync(TimeSpan.FromSeconds(5), cancellationToken) && ring.TryGetValidationKey(token.Kid, out key, out algorithm)))
        {
            return null;
        }

        var result = await s_handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [algorithm],
            ValidIssuer = identity.Issuer,
            ValidateIssuer = true,
            ValidateAudience = false,
            ValidTypes = s_types,
            RequireSignedTokens = true,
            RequireExpirationTime = false,
            ValidateLifetime = false,
            ValidateIssuerSigningKey = false,
            SaveSigninToken = false,
        });
        if (!result.IsValid
            || !token.TryGetPayloadValue<string>("cid", out var conversationId) || string.IsNullOrEmpty(conversationId) || conversationId.Length > 64
            || !token.TryGetPayloadValue<string>("own", out var owner) || string.IsNullOrEmpty(owner))
        {
            return null;
        }

        var verified = new VerifiedHandle(conversationId, owner, token.Kid);
        if (_verified.Count >= MaxCachedHandles)
        {
            _verified.Clear();
        }

        _verified[handle] = verified;
        return verified;
    }

    /// <summary>True when the handle was signed by a key that no longer signs (the caller should get a fresh one).</summary>
    public bool IsStale(VerifiedHandle handle) => !IsCurrentKey(handle.KeyId);

    /// <summary>True when <paramref name="keyId"/> is the key signing now.</summary>
    public bool IsCurrentKey(string keyId) => ring.GetSigningCredentials()?.Key.KeyId is not { } active || active == keyId;
}

/// <summary>What a verified handle says.</summary>
internal sealed record VerifiedHandle(string ConversationId, string Owner, string KeyId);
