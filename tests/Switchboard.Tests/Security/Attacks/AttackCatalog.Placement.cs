using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    private static readonly AttackTransport[] s_httpOnly = [AttackTransport.Mcp, AttackTransport.Rest];
    private static readonly AttackTransport[] s_webSocketOnly = [AttackTransport.WebSocket];

    /// <summary>
    /// §1.3 H (Unicode, whitespace, normalisation), I (transport placement) and the malformed-header cases of A07/A15.
    /// Scope look-alikes (H02–H05) are authorization cases, in <see cref="ScopeEscalationTests"/>.
    /// </summary>
    public static IReadOnlyList<AttackCase> UnicodeAndPlacement { get; } =
    [
        .. new[] { "https://switchboard.test\u00A0", "https://switch\u200Dboard.test", "https://ｓｗｉｔｃｈｂｏａｒｄ.test", "https://switchbоard.test" }.Select(iss =>
            Invalid("JWT-H01", $"iss {Escape(iss)}", f => f.Es256.Token(claims: c => c["iss"] = iss))),
        .. new[] { "https://switchboard.test/mcp\u00A0", "https://switchbоard.test/mcp", "https://switchboard.test/ｍｃｐ" }.Select(aud =>
            Invalid("JWT-H01", $"aud {Escape(aud)}", f => f.Es256.Token(claims: c => c["aud"] = aud))),
        Invalid("JWT-H04", "scope as a JSON array (pinned: refused, never read as a list)", f => f.Es256.Token(claims: c => c["scope"] = new JsonArray("tools:vault/read"))),
        Invalid("JWT-H04", "scope as a number", f => f.Es256.Token(claims: c => c["scope"] = 1)),
        Invalid("JWT-H06", "sub alice\\u0000", f => f.Es256.Token(claims: c => c["sub"] = "alice\u0000")),
        Invalid("JWT-H06", "sub alice\\u001b (escape)", f => f.Es256.Token(claims: c => c["sub"] = "alice\u001b")),
        Invalid("JWT-H06", "sub with U+0085 (next line)", f => f.Es256.Token(claims: c => c["sub"] = "alice\u0085")),

        new("JWT-A07", "a space inside the token", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer " + Insert(f.Es256.Token(), 20, " "))),
        new("JWT-A07", "a tab between segments", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer " + f.Es256.Token().Replace(".", ".\t", StringComparison.Ordinal))) { Transports = s_httpOnly },
        new("JWT-A07", "two spaces after the scheme", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer  " + f.Es256.Token())),
        // Pinned at 400 (the catalog allows 401): JSON serialization is not an RFC 6750 b64token, so the header is malformed.
        new("JWT-A15", "flattened JWS JSON serialization", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer " + Flattened(f.Es256.Token()))) { Transports = s_httpOnly },
        new("JWT-A15", "compact token followed by its JSON serialization", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer " + f.Es256.Token() + " " + Flattened(f.Es256.Token()))) { Transports = s_httpOnly },

        new("JWT-I01", "valid token only in ?access_token=", Refusal.NoCredentials, f => new Presentation { QueryToken = f.Es256.Token() }),
        new("JWT-I02", "valid token only in a form body", Refusal.NoCredentials, f => new Presentation { FormToken = f.Es256.Token() }) { Transports = s_httpOnly },
        new("JWT-I03", "Bearer a, Bearer b", Refusal.MalformedCredentials, f => Presentation.Raw("Bearer a, Bearer b")),
        new("JWT-I03", "two valid tokens in one header", Refusal.MalformedCredentials, f => Presentation.Raw($"Bearer {f.Es256.Token()}, Bearer {f.Es256.Token()}")),
        new("JWT-I03", "a valid token in a cookie", Refusal.NoCredentials, f => new Presentation { Headers = [new("Cookie", "access_token=" + f.Es256.Token())] }),
        new("JWT-I03", "a valid token in X-Access-Token", Refusal.NoCredentials, f => new Presentation { Headers = [new("X-Access-Token", f.Es256.Token())] }),
        new("JWT-I03", "a valid token without a scheme", Refusal.NoCredentials, f => Presentation.Raw(f.Es256.Token())),
        new("JWT-I03", "a valid token under the Basic scheme", Refusal.NoCredentials, f => Presentation.Raw("Basic " + f.Es256.Token())),
        new("JWT-I03", "the Bearer scheme alone", Refusal.NoCredentials, f => Presentation.Raw("Bearer")),
        new("JWT-I03", "a valid token as Sec-WebSocket-Protocol bearer.<token> outside a WebSocket upgrade", Refusal.NoCredentials, f => new Presentation
        {
            Headers = [new("Sec-WebSocket-Protocol", "mcp, bearer." + f.Es256.Token())],
        }) { Transports = s_httpOnly },
        new("JWT-I03", "subprotocol bearer.<token> with an invalid token", Refusal.InvalidToken, f => new Presentation { SubProtocols = ["bearer." + f.Es256.Token(signer: f.Attacker)] }) { Transports = s_webSocketOnly },
        new("JWT-I03", "subprotocol bearer.<token> with alg none", Refusal.InvalidToken, f => new Presentation { SubProtocols = ["bearer." + Unsigned(f, "none", string.Empty).TrimEnd('.') + ".x"] }) { Transports = s_webSocketOnly },
        new("JWT-I03", "two bearer.<token> subprotocols", Refusal.MalformedCredentials, f => new Presentation { SubProtocols = ["bearer." + f.Es256.Token(), "bearer." + f.Es256.Token()] }) { Transports = s_webSocketOnly },
        new("JWT-I03", "an invalid Authorization header next to a valid bearer.<token> subprotocol", Refusal.InvalidToken, f => Presentation.Bearer(f.Es256.Token(signer: f.Attacker)) with { SubProtocols = ["bearer." + f.Es256.Token()] }) { Transports = s_webSocketOnly },
        new("JWT-I06", "X-Forwarded-Host/Proto/For from an untrusted peer do not move the challenge", Refusal.InvalidToken, f => Presentation.Bearer(f.Es256.Token(signer: f.Attacker)) with
        {
            Headers = [new("X-Forwarded-Host", "evil.test"), new("X-Forwarded-Proto", "http"), new("X-Forwarded-For", "203.0.113.9"), new("Forwarded", "host=evil.test;proto=http")],
        }),
    ];

    private static string Escape(string value)
        => string.Concat(value.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}"));

    private static string Insert(string value, int at, string text) => value[..at] + text + value[at..];

    private static string Flattened(string token)
    {
        var parts = token.Split('.');
        return new JsonObject { ["protected"] = parts[0], ["payload"] = parts[1], ["signature"] = parts[2] }.ToJsonString();
    }
}
