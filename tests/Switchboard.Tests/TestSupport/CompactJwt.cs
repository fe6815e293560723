using System.Text.Json.Nodes;

namespace Switchboard.Tests.TestSupport;

/// <summary>Reads the parts of a compact JWS that tests look at, without validating it.</summary>
internal static class CompactJwt
{
    /// <summary>The <c>kid</c> the token's header names.</summary>
    public static string KidOf(string token)
        => JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[0]))!["kid"]!.GetValue<string>();

    /// <summary>A string claim of the token's payload.</summary>
    public static string ClaimOf(string token, string name)
        => JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1]))![name]!.GetValue<string>();

    /// <summary>The token's <c>exp</c>.</summary>
    public static DateTimeOffset ExpiryOf(string token)
        => DateTimeOffset.FromUnixTimeSeconds(JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1]))!["exp"]!.GetValue<long>());
}
