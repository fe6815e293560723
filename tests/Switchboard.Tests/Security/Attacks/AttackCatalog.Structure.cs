using System.Text;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>§1.3 A: structure and encoding. Every token is otherwise valid and signed by the active key.</summary>
    public static IReadOnlyList<AttackCase> Structure { get; } =
    [
        Invalid("JWT-A01", "two segments", f => string.Join('.', f.Es256.Token().Split('.')[..2])),
        Invalid("JWT-A02", "four segments", f => f.Es256.Token() + ".e30"),
        Invalid("JWT-A02", "six segments", f => f.Es256.Token() + ".e30.e30.e30"),
        Invalid("JWT-A03", "five-segment JWE RSA-OAEP-256/A256GCM", f => Jwe("""{"alg":"RSA-OAEP-256","enc":"A256GCM","typ":"at+jwt"}""")),
        Invalid("JWT-A03", "five-segment JWE with zip DEF", f => Jwe("""{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}""")),
        Invalid("JWT-A04", "null signature (header.payload.)", f => string.Join('.', f.Es256.Token().Split('.')[..2]) + "."),
        Invalid("JWT-A05", "signature with its last 4 characters removed", f => f.Es256.Token()[..^4]),
        Invalid("JWT-A05", "signature with one bit flipped", f => FlipSignatureBit(f.Es256.Token())),
        // Pinned at 400 (the catalog says 401): '=' inside the token is outside RFC 6750's b64token grammar, so the
        // Authorization header itself is malformed (invalid_request) before any token parsing.
        new("JWT-A06", "standard base64 with = padding inside the token, signed as sent", Refusal.MalformedCredentials, f => Bearer(TokenForge.Compact(
            Convert.ToBase64String(Encoding.UTF8.GetBytes(HeaderJson(f))),
            PaddedPayload(f),
            f.Active.Sign))),
        Invalid("JWT-A06", "standard base64 alphabet (+ and /) in the payload, signed as sent", f => TokenForge.Compact(
            TokenForge.Segment(HeaderJson(f)),
            StandardAlphabetPayload(f),
            f.Active.Sign)),
        Invalid("JWT-A06", "= padding appended to the signature", f => f.Es256.Token() + "=="),
        Invalid("JWT-A08", "non-canonical base64url: unused low bits of the signature's last character set", f => NonCanonicalSignature(f.Es256.Token())),
        Invalid("JWT-A09", "header is a JSON array", f => Signed(f, "[\"ES256\"]", ClaimsJson(f))),
        Invalid("JWT-A09", "header is a JSON string", f => Signed(f, "\"ES256\"", ClaimsJson(f))),
        Invalid("JWT-A09", "payload is a JSON number", f => Signed(f, HeaderJson(f), "4102444800")),
        Invalid("JWT-A09", "payload is JSON null", f => Signed(f, HeaderJson(f), "null")),
        Invalid("JWT-A10", "UTF-8 BOM before the header", f => SignedBytes(f, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(HeaderJson(f))], Encoding.UTF8.GetBytes(ClaimsJson(f)))),
        Invalid("JWT-A10", "UTF-8 BOM before the payload", f => SignedBytes(f, Encoding.UTF8.GetBytes(HeaderJson(f)), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(ClaimsJson(f))])),
        Invalid("JWT-A10", "payload encoded as UTF-16", f => SignedBytes(f, Encoding.UTF8.GetBytes(HeaderJson(f)), Encoding.Unicode.GetBytes(ClaimsJson(f)))),
        Invalid("JWT-A11", "overlong UTF-8 (C0 AF) inside sub", f => SignedBytes(f, Encoding.UTF8.GetBytes(HeaderJson(f)), WithRawBytes(ClaimsJson(f, c => c["sub"] = "alice@@"), "@@", [0xC0, 0xAF]))),
        Invalid("JWT-A11", "lone surrogate (ED A0 80) inside sub", f => SignedBytes(f, Encoding.UTF8.GetBytes(HeaderJson(f)), WithRawBytes(ClaimsJson(f, c => c["sub"] = "alice@@"), "@@", [0xED, 0xA0, 0x80]))),
        Invalid("JWT-A11", "escaped lone surrogate \\ud800 inside sub", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["sub"] = "alice@@").Replace("@@", "\\ud800", StringComparison.Ordinal))),
        Invalid("JWT-A12", "comment in the payload", f => Signed(f, HeaderJson(f), "/* hi */" + ClaimsJson(f))),
        Invalid("JWT-A12", "trailing comma in the payload", f => Signed(f, HeaderJson(f), ClaimsJson(f)[..^1] + ",}")),
        Invalid("JWT-A12", "single-quoted string", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f), "'x':'y'"))),
        Invalid("JWT-A12", "NaN as exp", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c.Remove("exp"))[..^1] + ",\"exp\":NaN}")),
        Invalid("JWT-A12", "leading zeros in exp", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c.Remove("exp"))[..^1] + $",\"exp\":0{f.Es256.Now.AddMinutes(5).ToUnixTimeSeconds()}}}")),
        Invalid("JWT-A13", "duplicate alg in the header (ES256 then none)", f => Signed(f, Append(HeaderJson(f), "\"alg\":\"none\""), ClaimsJson(f))),
        Invalid("JWT-A13", "duplicate alg spelled with an escape (\\u0061lg)", f => Signed(f, Append(HeaderJson(f), "\"\\u0061lg\":\"none\""), ClaimsJson(f))),
        Invalid("JWT-A13", "duplicate kid in the header", f => Signed(f, Append(HeaderJson(f), $"\"kid\":\"{f.Retiring.Kid}\""), ClaimsJson(f))),
        Invalid("JWT-A14", "duplicate sub (alice then admin)", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f), "\"sub\":\"admin\""))),
        Invalid("JWT-A14", "duplicate sub spelled with an escape (\\u0073ub)", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f), "\"\\u0073ub\":\"admin\""))),
        Invalid("JWT-A14", "duplicate scope widening to tools:*", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f, c => c["scope"] = "tools:text/echo"), "\"scope\":\"tools:*\""))),
        Invalid("JWT-A14", "duplicate aud (foreign, then ours)", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f, c => c["aud"] = "https://other.test/mcp"), $"\"aud\":\"{AttackTarget.Resource}\""))),
        Invalid("JWT-A16", "payload claim nested 1,000 deep", f => Signed(f, HeaderJson(f), Append(ClaimsJson(f), "\"deep\":" + new string('[', 1000) + new string(']', 1000)))),
        Invalid("JWT-A16", "header nested 40 deep (over the parser's depth)", f => Signed(f, Append(HeaderJson(f), "\"x\":" + new string('[', 40) + new string(']', 40)), ClaimsJson(f))),
        Invalid("JWT-A17", "exp as a string", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["exp"] = c["exp"]!.ToString()))),
        Invalid("JWT-A17", "exp as a boolean", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["exp"] = true))),
        Invalid("JWT-A17", "exp as an object", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["exp"] = new System.Text.Json.Nodes.JsonObject { ["n"] = 1 }))),
        Invalid("JWT-A17", "exp = 1e400 (out of range)", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c.Remove("exp"))[..^1] + ",\"exp\":1e400}")),
        Invalid("JWT-A17", "exp = -1", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["exp"] = -1))),
        Invalid("JWT-A17", "iat as a string", f => Signed(f, HeaderJson(f), ClaimsJson(f, c => c["iat"] = c["iat"]!.ToString()))),
        Invalid("JWT-A18", "zip: DEF in a JWS header", f => f.Es256.Token(header: h => h["zip"] = "DEF")),
    ];

    private static string Jwe(string header)
        => string.Join('.', TokenForge.Segment(header), Base64UrlEncoder.Encode(new byte[256]), Base64UrlEncoder.Encode(new byte[12]), Base64UrlEncoder.Encode(new byte[64]), Base64UrlEncoder.Encode(new byte[16]));

    /// <summary>
    /// The same signature bytes spelled differently: a 64-byte signature leaves 4 unused bits in its last base64url
    /// character; a lenient decoder ignores them, so two strings would be the same token. (IdentityModel's decoder is
    /// strict here, and so is ours for the header and payload.)
    /// </summary>
    private static string NonCanonicalSignature(string token)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var index = alphabet.IndexOf(token[^1], StringComparison.Ordinal);
        Assert.Equal(0, index & 0x0F);
        return token[..^1] + alphabet[index | 0x01];
    }

    private static string FlipSignatureBit(string token)
    {
        var parts = token.Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[10] ^= 0x01;
        return $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}";
    }

    /// <summary>A payload in standard base64 that ends in '=' padding (a filler claim is grown until it does).</summary>
    private static string PaddedPayload(AttackSuiteFixture f)
    {
        for (var i = 0; ; i++)
        {
            var text = Convert.ToBase64String(Encoding.UTF8.GetBytes(ClaimsJson(f, c => c["pad"] = new string('x', i))));
            if (text.EndsWith('='))
            {
                return text;
            }
        }
    }

    /// <summary>A payload whose standard-base64 form contains '+' or '/' (a claim value is varied until it does).</summary>
    private static string StandardAlphabetPayload(AttackSuiteFixture f)
    {
        for (var i = 0; ; i++)
        {
            var text = Convert.ToBase64String(Encoding.UTF8.GetBytes(ClaimsJson(f, c => c["pad"] = new string('~', i % 7) + "\u00ff" + i))).TrimEnd('=');
            if (text.Contains('+', StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal))
            {
                return text;
            }
        }
    }
}
