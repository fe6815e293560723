using System.Buffers.Text;
using System.CommandLine;
using System.Text.Json;
using Switchboard.Security;

namespace Switchboard.Hosting.Cli;

/// <summary><c>switchboard token revoke</c> and <c>switchboard token revoked</c>.</summary>
internal static partial class SecurityCommands
{
    private static Command Revoke()
    {
        var target = new Argument<string>("token-or-jti") { Description = "The access token itself (its iss, jti and exp are read from it), or its jti." };
        var issuer = new Option<string?>("--issuer") { Description = "Issuer of a token given by jti (default: this server's own issuer)." };
        var reason = new Option<string?>("--reason") { Description = "Why, for the list of revocations." };
        var revoke = WithDataOptions(new Command("revoke", "Revoke one access token: every server refuses it within Switchboard:Security:Keys:CheckInterval.") { target, issuer, reason });
        revoke.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            var given = parse.GetValue(target)!.Trim();
            var settings = services.Get<Microsoft.Extensions.Options.IOptions<SecurityOptions>>().Value;
            var now = services.Get<TimeProvider>().GetUtcNow();
            string tokenIssuer, tokenId;
            DateTimeOffset expiresAt;
            if (given.Contains('.', StringComparison.Ordinal))
            {
                // Read, not validated: revoking needs only the token's identity, and revoking a forged one is harmless.
                if (!TryReadTokenIdentity(given, out var read))
                {
                    await Console.Error.WriteLineAsync("switchboard: that is not a JWT with iss, jti and exp claims.");
                    return SwitchboardCommandLine.UsageError;
                }

                (tokenIssuer, tokenId, expiresAt) = read;
                if (parse.GetValue(issuer) is { } named && !string.Equals(named, tokenIssuer, StringComparison.Ordinal))
                {
                    await Console.Error.WriteLineAsync($"switchboard: the token's issuer is {tokenIssuer}, not {named}.");
                    return SwitchboardCommandLine.UsageError;
                }
            }
            else
            {
                // No exp to go by: keep the entry as long as any acceptable token can live.
                tokenIssuer = parse.GetValue(issuer) ?? services.Get<ResourceIdentity>().Issuer;
                tokenId = given;
                expiresAt = now + settings.MaxTokenLifetime + settings.ClockSkew;
            }

            if (expiresAt + settings.ClockSkew <= now)
            {
                Console.WriteLine($"token {tokenId} of {tokenIssuer} expired at {Time(expiresAt)}; it is refused already, nothing to revoke");
                return 0;
            }

            var added = await services.Get<TokenRevocationList>().RevokeAsync(tokenIssuer, tokenId, expiresAt, parse.GetValue(reason), ct);
            Console.WriteLine(added
                ? $"revoked token {tokenId} of {tokenIssuer} (until {Time(expiresAt)}); running servers refuse it within Switchboard:Security:Keys:CheckInterval"
                : $"token {tokenId} of {tokenIssuer} was already revoked");
            return 0;
        }, ct));
        return revoke;
    }

    private static Command Revoked()
    {
        var list = WithDataOptions(new Command("revoked", "List the revoked tokens that have not expired yet."));
        list.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            Console.WriteLine($"{"JTI",-36} {"ISSUER",-32} {"UNTIL",-20} {"REVOKED",-20} REASON");
            foreach (var token in await services.Get<TokenRevocationList>().ListAsync(ct))
            {
                Console.WriteLine($"{token.TokenId,-36} {token.Issuer,-32} {Time(token.ExpiresAt),-20} {Time(token.RevokedAt),-20} {token.Reason ?? "-"}");
            }

            return 0;
        }, ct));
        return list;
    }

    /// <summary>Reads <c>iss</c>, <c>jti</c> and <c>exp</c> from a compact JWT's payload without checking its signature.</summary>
    internal static bool TryReadTokenIdentity(string token, out (string Issuer, string TokenId, DateTimeOffset ExpiresAt) identity)
    {
        identity = default;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[1].Length > 64 * 1024)
        {
            return false;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String && iss.GetString() is { Length: > 0 } issuerText
                && root.TryGetProperty("jti", out var jti) && jti.ValueKind == JsonValueKind.String && jti.GetString() is { Length: > 0 } tokenId
                && root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetInt64(out var seconds)
                && seconds is > 0 and < 253402300799)
            {
                identity = (issuerText, tokenId, DateTimeOffset.FromUnixTimeSeconds(seconds));
                return true;
            }
        }
        catch (FormatException)
        {
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
