using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

public static partial class AttackCatalog
{
    /// <summary>
    /// §1.3 F (<c>crit</c> and extension headers) and G (size): every token signed by the trusted key, so only the edited
    /// property can cause the refusal.
    /// </summary>
    public static IReadOnlyList<AttackCase> CritAndSize { get; } =
    [
        Invalid("JWT-F01", "crit [\"x-unknown\"] with x-unknown: 1", f => f.Es256.Token(header: h => { h["crit"] = new JsonArray("x-unknown"); h["x-unknown"] = 1; })),
        Invalid("JWT-F02", "crit []", f => f.Es256.Token(header: h => h["crit"] = new JsonArray())),
        Invalid("JWT-F03", "crit [\"alg\"]", f => f.Es256.Token(header: h => h["crit"] = new JsonArray("alg"))),
        Invalid("JWT-F03", "crit [\"exp\"]", f => f.Es256.Token(header: h => h["crit"] = new JsonArray("exp"))),
        Invalid("JWT-F04", "crit [\"b64\"] with b64: false", f => f.Es256.Token(header: h => { h["crit"] = new JsonArray("b64"); h["b64"] = false; })),
        Invalid("JWT-F05", "crit naming a header that is absent", f => f.Es256.Token(header: h => h["crit"] = new JsonArray("x-absent"))),
        Invalid("JWT-F05", "crit as a string", f => f.Es256.Token(header: h => { h["crit"] = "x-unknown"; h["x-unknown"] = 1; })),

        Invalid("JWT-G01", "token of MaxTokenBytes + 1 bytes", f => TokenOfLength(f, AttackTarget.MaxTokenBytes + 1)),
        Invalid("JWT-G01", "token of 20 KB (under Kestrel's header limit, over ours)", f => TokenOfLength(f, 20 * 1024)),
        new("JWT-G01", "token of 250 KB", Refusal.HeadersTooLarge, f => Bearer(TokenOfLength(f, 250 * 1024))),
        new("JWT-G02", "valid token plus 40 KB of other headers", Refusal.HeadersTooLarge, f => Bearer(f.Es256.Token()) with
        {
            Headers = [.. Enumerable.Range(0, 10).Select(i => new KeyValuePair<string, string>($"X-Filler-{i}", new string('f', 4096)))],
        }),
        new("JWT-G02", "valid token plus 101 other headers", Refusal.HeadersTooLarge, f => Bearer(f.Es256.Token()) with
        {
            Headers = [.. Enumerable.Range(0, 101).Select(i => new KeyValuePair<string, string>($"X-Many-{i}", "1"))],
        }),
        // 10,000 scopes or claims make a token far over Kestrel's 32 KB header limit: refused before our code runs.
        new("JWT-G03", "10,000 scopes", Refusal.HeadersTooLarge, f => Bearer(f.Es256.Token(claims: c => c["scope"] = string.Join(' ', Enumerable.Range(0, 10_000).Select(i => $"tools:p{i}/t"))))),
        new("JWT-G03", "10,000 custom claims", Refusal.HeadersTooLarge, f => Bearer(f.Es256.Token(claims: c => { for (var i = 0; i < 10_000; i++) { c[$"c{i}"] = i; } }))),
        Invalid("JWT-G03", "1,000 scopes (over our size limit, under Kestrel's)", f => f.Es256.Token(claims: c => c["scope"] = string.Join(' ', Enumerable.Range(0, 1_000).Select(i => $"tools:p{i}/t")))),
        Invalid("JWT-G05", "PBES2 JWE with p2c = 2^31 - 1", f => Jwe("""{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2147483647,"p2s":"c2FsdHNhbHQ"}""")),
        Invalid("JWT-G05", "p2c and p2s in a JWS header", f => f.Es256.Token(header: h => { h["p2c"] = 2147483647; h["p2s"] = "c2FsdHNhbHQ"; })),
    ];

    /// <summary>
    /// A valid ES256 token of exactly <paramref name="length"/> characters: a filler claim sets the payload's size and
    /// spaces in the header JSON (legal whitespace) reach the lengths base64url cannot by the payload alone.
    /// </summary>
    internal static string TokenOfLength(AttackSuiteFixture f, int length)
    {
        static int Encoded(int bytes) => (bytes * 4 + 2) / 3;
        var header = HeaderJson(f);
        var baseClaims = ClaimsJson(f, c => c["pad"] = string.Empty);
        for (var spaces = 0; spaces < 4; spaces++)
        {
            var spacedHeader = "{" + new string(' ', spaces) + header[1..];
            var fixedPart = Encoded(Encoding.UTF8.GetByteCount(spacedHeader)) + 2 + 86;
            for (var pad = 0; fixedPart + Encoded(baseClaims.Length + pad) <= length; pad++)
            {
                if (fixedPart + Encoded(baseClaims.Length + pad) == length)
                {
                    var token = Signed(f, spacedHeader, baseClaims.Replace("\"pad\":\"\"", $"\"pad\":\"{new string('p', pad)}\"", StringComparison.Ordinal));
                    Assert.Equal(length, token.Length);
                    return token;
                }
            }
        }

        throw new InvalidOperationException($"no token of length {length}");
    }
}
