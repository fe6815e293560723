using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Switchboard.Security;

namespace Switchboard.Hosting.Cli;

/// <summary>
/// <c>switchboard keys list|rotate|revoke</c>, <c>switchboard clients add|list|remove</c> and
/// <c>switchboard token issue</c>: administration against the data folder a server uses.
/// </summary>
internal static partial class SecurityCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Keys();
        yield return Clients();
        yield return Token();
    }

    private const string DataOption = "--data";
    private const string ConfigOption = "--config";

    /// <summary>
    /// Adds the options every administrative command shares. Each command gets its own instances, and actions read them
    /// by name from the parse result, so no action can read another command's option.
    /// </summary>
    private static Command WithDataOptions(Command command)
    {
        command.Options.Add(new Option<string?>(DataOption) { Description = "Data folder of the server (default ./data)." });
        command.Options.Add(new Option<string?>(ConfigOption) { Description = "The server's JSON configuration file." });
        return command;
    }

    private static Command Keys()
    {
        var command = new Command("keys", "Inspect and manage the signing-key ring.");

        var list = WithDataOptions(new Command("list", "List the signing keys and their states."));
        list.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            var ring = services.Get<SigningKeyRing>();
            var now = services.Get<TimeProvider>().GetUtcNow();
            Console.WriteLine($"{"KID",-24} {"ALG",-6} {"STATE",-9} {"SIGNS FROM",-20} {"RETIRES",-20} {"EXPIRES",-20}");
            foreach (var key in ring.State.Keys)
            {
                Console.WriteLine($"{key.Kid,-24} {key.Algorithm,-6} {key.StateAt(now).ToString().ToLowerInvariant(),-9} {Time(key.ActivateAt),-20} {Time(key.RetireAt),-20} {Time(key.ExpireAt),-20}");
            }

            return 0;
        }, ct));

        var rotate = WithDataOptions(new Command("rotate", "Schedule the next key now: published at once, signing after the publication lead."));
        rotate.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            var next = await services.Get<SigningKeyRing>().RotateAsync(ct);
            Console.WriteLine($"{next.Kid} signs from {Time(next.ActivateAt)}");
            return 0;
        }, ct));

        var kid = new Argument<string>("kid") { Description = "The key id to revoke." };
        var revoke = WithDataOptions(new Command("revoke", "Revoke a key at once: tokens it signed are refused from now on.") { kid });
        revoke.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            if (!await services.Get<SigningKeyRing>().RevokeAsync(parse.GetValue(kid)!, ct))
            {
                await Console.Error.WriteLineAsync($"switchboard: no key {parse.GetValue(kid)}");
                return SwitchboardCommandLine.UsageError;
            }

            Console.WriteLine($"revoked {parse.GetValue(kid)}; running servers refuse its tokens within Switchboard:Security:Keys:CheckInterval");
            return 0;
        }, ct));

        command.Subcommands.Add(list);
        command.Subcommands.Add(rotate);
        command.Subcommands.Add(revoke);
        return command;
    }

    private static Command Clients()
    {
        var command = new Command("clients", "Manage OAuth clients of the client_credentials grant.");

        var id = new Argument<string>("client-id") { Description = "The client id (letters, digits, '.', '_', '-')." };
        var scope = new Option<string>("--scope") { Description = "Scopes the client may ask for, space-separated (e.g. 'tools:text/*').", Required = true };
        var tenant = new Option<string?>("--tenant") { Description = "Tenant of the client's tokens." };
        var roles = new Option<string[]>("--role") { Description = "Roles of the client's tokens (repeatable).", AllowMultipleArgumentsPerToken = false };
        var add = WithDataOptions(new Command("add", "Register a client; prints its secret once.") { id, scope, tenant, roles });
        add.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            var clientId = parse.GetValue(id)!;
            if (!ClientIdPattern().IsMatch(clientId))
            {
                await Console.Error.WriteLineAsync("switchboard: a client id is 1-64 characters of letters, digits, '.', '_' or '-'.");
                return SwitchboardCommandLine.UsageError;
            }

            var secret = await services.Get<OAuthClientStore>().AddAsync(clientId, parse.GetValue(scope)!, parse.GetValue(tenant), parse.GetValue(roles) ?? [], ct);
            Console.WriteLine($"client_id:     {clientId}");
            Console.WriteLine($"client_secret: {secret}");
            Console.WriteLine("Store the secret now: it is not shown again.");
            return 0;
        }, ct));

        var list = WithDataOptions(new Command("list", "List registered clients."));
        list.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            foreach (var client in await services.Get<OAuthClientStore>().ListAsync(ct))
            {
                Console.WriteLine($"{client.ClientId}\tscopes: {client.AllowedScopes}\ttenant: {client.Tenant ?? "-"}\troles: {string.Join(',', client.Roles)}");
            }

            return 0;
        }, ct));

        var removeId = new Argument<string>("client-id");
        var remove = WithDataOptions(new Command("remove", "Remove a client; its existing tokens stay valid until they expire.") { removeId });
        remove.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            if (!await services.Get<OAuthClientStore>().RemoveAsync(parse.GetValue(removeId)!, ct))
            {
                await Console.Error.WriteLineAsync($"switchboard: no client {parse.GetValue(removeId)}");
                return SwitchboardCommandLine.UsageError;
            }

            return 0;
        }, ct));

        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(remove);
        return command;
    }

    private static Command Token()
    {
        var sub = new Option<string>("--sub") { Description = "Subject of the token (who calls).", Required = true };
        var scope = new Option<string>("--scope") { Description = "Scopes, space-separated, e.g. 'tools:*' or 'tools:text/echo'.", DefaultValueFactory = _ => "tools:*" };
        var ttl = new Option<string>("--ttl") { Description = "Lifetime: 90s, 30m, 8h or hh:mm:ss (at most Switchboard:Security:MaxTokenLifetime).", DefaultValueFactory = _ => "1h" };
        var tenant = new Option<string?>("--tenant") { Description = "Tenant claim." };
        var roles = new Option<string[]>("--role") { Description = "Roles (repeatable)." };
        var clientId = new Option<string>("--client-id") { Description = "client_id claim.", DefaultValueFactory = _ => "switchboard-cli" };
        var issue = WithDataOptions(new Command("issue", "Issue an access token signed by the server's active key; prints it on standard output.") { sub, scope, ttl, tenant, roles, clientId });
        issue.SetAction((parse, ct) => RunAsync(parse, async services =>
        {
            if (!TryParseDuration(parse.GetValue(ttl)!, out var lifetime))
            {
                await Console.Error.WriteLineAsync("switchboard: --ttl is a duration such as 90s, 30m, 8h or 01:00:00.");
                return SwitchboardCommandLine.UsageError;
            }

            try
            {
                var token = services.Get<AccessTokenIssuer>().Issue(new TokenRequest(parse.GetValue(sub)!, parse.GetValue(clientId)!, parse.GetValue(scope)!, lifetime, parse.GetValue(tenant), parse.GetValue(roles)));
                Console.WriteLine(token.AccessToken);
                return 0;
            }
            catch (ArgumentOutOfRangeException ex)
            {
                await Console.Error.WriteLineAsync("switchboard: " + ex.Message.Split(Environment.NewLine)[0]);
                return SwitchboardCommandLine.UsageError;
            }
        }, ct));

        var command = new Command("token", "Issue and revoke access tokens.");
        command.Subcommands.Add(issue);
        command.Subcommands.Add(Revoke());
        command.Subcommands.Add(Revoked());
        return command;
    }

    private static Task<int> RunAsync(ParseResult parse, Func<OfflineServices, Task<int>> body, CancellationToken cancellationToken)
        => RunAsync(parse.GetValue<string?>(DataOption), parse.GetValue<string?>(ConfigOption), body, cancellationToken);

    /// <summary>Opens the data folder's services offline (no server), runs <paramref name="body"/> and maps failures to exit codes.</summary>
    internal static Task<int> RunAsync(string? data, string? config, Func<OfflineServices, Task<int>> body, CancellationToken cancellationToken)
        => HostRunner.RunCommandAsync(async () =>
        {
            await using var services = await OfflineServices.OpenAsync(data, config, cancellationToken);
            return await body(services);
        });

    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var match = DurationPattern().Match(text.Trim());
        if (match.Success)
        {
            var value = double.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture);
            duration = match.Groups["unit"].Value switch
            {
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                "h" => TimeSpan.FromHours(value),
                _ => TimeSpan.FromDays(value),
            };
            return duration > TimeSpan.Zero;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration > TimeSpan.Zero;
    }

    private static string Time(DateTimeOffset? value) => value?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";

    [GeneratedRegex("^(?<n>[0-9]+(\\.[0-9]+)?)(?<unit>[smhd])$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClientIdPattern();
}
