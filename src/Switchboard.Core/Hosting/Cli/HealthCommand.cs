using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace Switchboard.Hosting.Cli;

/// <summary>
/// <c>switchboard health</c>: asks a running server's <c>/readyz</c> and exits 0 when it answers ready, 1 otherwise.
/// For container health checks: the image has no shell and no HTTP client, and the Native AOT binary starts in a few
/// milliseconds. Without <c>--url</c> it asks the address the server was configured with (<c>Switchboard:Urls</c>
/// from <c>--config</c> and the environment, as <c>serve</c> reads it), a wildcard host as the loopback address.
/// </summary>
internal static class HealthCommand
{
    public const int NotReady = 1;

    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "The server's base address (default: the first address of Switchboard:Urls, a wildcard host as 127.0.0.1)." };
        var config = new Option<string?>("--config") { Description = "JSON configuration file the server runs with (for its listen address)." };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "How long to wait for the answer (default 00:00:03).", DefaultValueFactory = _ => TimeSpan.FromSeconds(3) };

        var command = new Command("health", "Exit 0 if the server at the configured address answers /readyz as ready, 1 if not (container health checks).") { url, config, timeout };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            Uri target;
            try
            {
                target = ReadinessUri(parseResult.GetValue(url), parseResult.GetValue(config));
            }
            catch (Exception ex) when (ex is SwitchboardStartupException or FormatException or InvalidDataException)
            {
                await Console.Error.WriteLineAsync("switchboard health: " + ex.Message);
                return SwitchboardCommandLine.UsageError;
            }

            return await ProbeAsync(target, parseResult.GetValue(timeout), cancellationToken);
        });
        return command;
    }

    /// <summary>The <c>/readyz</c> address to ask: the given base address, or the first configured listen address.</summary>
    internal static Uri ReadinessUri(string? baseUrl, string? configFile)
    {
        if (baseUrl is null)
        {
            var configuration = new ConfigurationManager();
            SwitchboardServer.ConfigureConfiguration(configuration, new ServeSettings { ConfigFile = configFile });
            var urls = configuration[$"{SwitchboardOptions.SectionName}:{nameof(SwitchboardOptions.Urls)}"] ?? new SwitchboardOptions().Urls;
            baseUrl = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
                ?? throw new SwitchboardStartupException("Switchboard:Urls names no address.");
        }

        if (!ListenAddressPolicy.TryParseAddress(baseUrl, out var parsed))
        {
            throw new SwitchboardStartupException($"'{baseUrl}' is not an address; use the form http://127.0.0.1:8080.");
        }

        if (parsed.Port == 0)
        {
            throw new SwitchboardStartupException($"'{baseUrl}' has port 0 (a free port picked at start); give the server's address with --url.");
        }

        var readiness = new UriBuilder(parsed) { Path = "/readyz", Query = string.Empty, Fragment = string.Empty };
        if (ListenAddressPolicy.IsWildcard(parsed.Host))
        {
            // A wildcard bind listens on every address; the loopback one is always there (also inside a container).
            readiness.Host = parsed.HostNameType == UriHostNameType.IPv6 ? "[::1]" : "127.0.0.1";
        }

        return readiness.Uri;
    }

    private static async Task<int> ProbeAsync(Uri readiness, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // No proxy: a proxy from the environment (HTTP_PROXY in a container) must not stand between the probe and
        // the server's loopback address.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = timeout };
        try
        {
            using var response = await http.GetAsync(readiness, cancellationToken);
            var body = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            Console.WriteLine($"{readiness}: {(int)response.StatusCode} {body}");
            return response.IsSuccessStatusCode ? 0 : NotReady;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"switchboard health: {readiness}: {(ex is TaskCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : ex.Message)}");
            return NotReady;
        }
    }
}
