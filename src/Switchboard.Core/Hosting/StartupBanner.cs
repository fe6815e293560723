using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Plugins;
using Switchboard.Security;
using Switchboard.Storage;
using Switchboard.Transports.Mcp;

namespace Switchboard.Hosting;

/// <summary>
/// Prints, once the server listens, where MCP is served and the exact <c>claude mcp add</c> line that connects
/// Claude Code. Written to standard output directly (not through logging) so it is always visible.
/// </summary>
internal sealed class StartupBanner(
    IHostApplicationLifetime lifetime,
    IServer server,
    ToolCatalog catalog,
    SqliteDatabase database,
    IOptions<SwitchboardOptions> options,
    IOptions<Security.SecurityOptions> security,
    ServeSettings settings,
    TextWriter writer) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Print);
        lifetime.ApplicationStopped.Register(() => writer.WriteLine("Switchboard stopped."));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The MCP URL to advertise: the first IPv4 loopback address if there is one; a wildcard address (a container's
    /// <c>0.0.0.0</c>) as <c>localhost</c>, the name clients on the host use through a published port.
    /// </summary>
    internal static string? PickMcpUrl(IEnumerable<string> addresses)
    {
        var list = addresses.ToList();
        var chosen = list.FirstOrDefault(a => a.Contains("://127.", StringComparison.Ordinal))
            ?? list.FirstOrDefault(a => a.Contains("://localhost", StringComparison.OrdinalIgnoreCase))
            ?? list.FirstOrDefault();
        return chosen is null ? null : ResourceIdentity.Normalize(chosen) + SwitchboardEndpointRouteBuilderExtensions.McpPath;
    }

    private static string ToolCount(int count) => count == 1 ? "1 tool" : $"{count} tools";

    private void Print()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var mcpUrl = PickMcpUrl(addresses);
        var snapshot = catalog.Current;
        var plugins = string.Join(", ", snapshot.Plugins.Select(p =>
            $"{p.Name} {p.Version} ({ToolCount(snapshot.Tools.Count(t => ReferenceEquals(t.Plugin, p)))})"));
        var name = options.Value.ServerName;

        writer.WriteLine($"Switchboard {McpServerOptionsSetup.ServerVersion} is serving MCP at {mcpUrl}");
        writer.WriteLine($"  Listening on: {string.Join(", ", addresses)}");
        writer.WriteLine($"  Plugins:      {(plugins.Length == 0 ? "(none)" : plugins)}");
        writer.WriteLine($"  Data:         {database.FilePath}");
        if (security.Value.RequireAuthentication)
        {
            var dataFolder = Path.GetFullPath(options.Value.DataDirectory);
            var config = settings.ConfigFile is { } file ? $" --config {Path.GetFullPath(file)}" : string.Empty;
            writer.WriteLine("  Auth:         bearer tokens required (serve --no-auth turns this off on loopback)");
            writer.WriteLine("Issue a token, then connect Claude Code with it:");
            writer.WriteLine($"  switchboard token issue --sub $USER --scope 'tools:*' --ttl 12h --data {dataFolder}{config}");
            writer.WriteLine($"  claude mcp add --transport http {name} {mcpUrl} --header \"Authorization: Bearer <token>\"");
        }
        else
        {
            writer.WriteLine("  Auth:         off (--no-auth)");
            writer.WriteLine("Connect Claude Code with:");
            writer.WriteLine($"  claude mcp add --transport http {name} {mcpUrl}");
        }

        writer.Flush();
    }
}
