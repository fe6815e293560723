using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

/// <summary>
/// The attack cases, by catalog section (one partial file per section). Every case is built against the fixture's live
/// keys when it runs; the names (catalog ID + variant) are the theory rows.
/// </summary>
public static partial class AttackCatalog
{
    public static IEnumerable<AttackCase> All
        => Structure.Concat(Algorithms).Concat(KeySelection).Concat(TimeClaims).Concat(IssuerAudienceType)
            .Concat(CritAndSize).Concat(UnicodeAndPlacement).Concat(ExternalIssuer);

    public static AttackCase Find(string name) => All.Single(c => c.Name == name);

    private static Presentation Bearer(string token) => Presentation.Bearer(token);

    private static AttackCase Invalid(string id, string variant, Func<AttackSuiteFixture, string> token)
        => new(id, variant, Refusal.InvalidToken, f => Bearer(token(f)));

    /// <summary>The header our ring writes, as JSON text.</summary>
    private static string HeaderJson(AttackSuiteFixture f) => TokenForge.Header("ES256", f.Active.Kid).ToJsonString();

    /// <summary>Valid claims as JSON text, after <paramref name="edit"/>.</summary>
    private static string ClaimsJson(AttackSuiteFixture f, Action<JsonObject>? edit = null)
    {
        var claims = f.Es256.Claims();
        edit?.Invoke(claims);
        return claims.ToJsonString();
    }

    /// <summary>Hand-written header and payload text, correctly signed by the active key: only the text is wrong.</summary>
    private static string Signed(AttackSuiteFixture f, string headerJson, string payloadJson)
        => TokenForge.FromJson(headerJson, payloadJson, f.Active.Sign);

    private static string SignedBytes(AttackSuiteFixture f, byte[] header, byte[] payload)
        => TokenForge.Compact(TokenForge.Segment(header), TokenForge.Segment(payload), f.Active.Sign);

    /// <summary>Adds raw <c>"name":value</c> text at the end of a JSON object (duplicates, odd numbers).</summary>
    private static string Append(string objectJson, string member) => objectJson[..^1] + "," + member + "}";

    /// <summary>Replaces a placeholder in UTF-8 JSON with raw bytes (invalid UTF-8).</summary>
    private static byte[] WithRawBytes(string json, string placeholder, byte[] bytes)
    {
        var text = Encoding.UTF8.GetBytes(json);
        var marker = Encoding.UTF8.GetBytes(placeholder);
        var at = text.AsSpan().IndexOf(marker);
        return [.. text.AsSpan(0, at), .. bytes, .. text.AsSpan(at + marker.Length)];
    }
}
