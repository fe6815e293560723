using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Switchboard.Storage;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Remembers each upstream's last tool list in the SQLite store (table <c>upstream_tools</c>), so a lazily started
/// upstream's tools are listed from the first request without starting it, and an upstream that is down at start is
/// still listed (marked unavailable). An entry is used only while the upstream's identity (version, transport, program,
/// arguments, URL) is unchanged; environment and headers are left out of that fingerprint because they hold secrets.
/// The cache is an optimisation: any storage failure is logged and treated as "nothing cached".
/// </summary>
internal sealed partial class UpstreamToolCache(SqliteDatabase database, TimeProvider timeProvider, ILogger<UpstreamToolCache> logger)
{
    internal static JsonTypeInfo<ListToolsResult> ListTypeInfo { get; } =
        (JsonTypeInfo<ListToolsResult>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ListToolsResult));

    /// <summary>What identifies the upstream's tool list; a change of any part makes the cached list stale.</summary>
    public static string Fingerprint(UpstreamServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var identity = new StringBuilder("v1");
        foreach (var part in new[] { options.Version, options.EffectiveTransport?.ToString(), options.Command, options.Url }.Concat(options.Arguments))
        {
            identity.Append('\n').Append(part);
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())));
    }

    public async Task<IReadOnlyList<Tool>?> TryLoadAsync(string upstream, string fingerprint, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT tools FROM upstream_tools WHERE upstream = $upstream AND fingerprint = $fingerprint;";
            command.Parameters.AddWithValue("$upstream", upstream);
            command.Parameters.AddWithValue("$fingerprint", fingerprint);
            if (await command.ExecuteScalarAsync(cancellationToken) is not string json)
            {
                return null;
            }

            return JsonSerializer.Deserialize(json, ListTypeInfo)?.Tools.ToArray();
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            Log.CacheUnavailable(logger, upstream, ex.GetType().Name);
            return null;
        }
    }

    public async Task SaveAsync(string upstream, string fingerprint, IReadOnlyList<Tool> tools, CancellationToken cancellationToken)
    {
        try
        {
            var json = JsonSerializer.Serialize(new ListToolsResult { Tools = [.. tools] }, ListTypeInfo);
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO upstream_tools (upstream, fingerprint, tools, updated_at) VALUES ($upstream, $fingerprint, $tools, $at)
                ON CONFLICT (upstream) DO UPDATE SET fingerprint = excluded.fingerprint, tools = excluded.tools, updated_at = excluded.updated_at;
                """;
            command.Parameters.AddWithValue("$upstream", upstream);
            command.Parameters.AddWithValue("$fingerprint", fingerprint);
            command.Parameters.AddWithValue("$tools", json);
            command.Parameters.AddWithValue("$at", timeProvider.GetUtcNow().ToString("O"));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            Log.CacheUnavailable(logger, upstream, ex.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2230, EventName = "UpstreamToolCacheUnavailable", Level = LogLevel.Warning, Message = "Upstream {Upstream}: the tool-list cache could not be used ({ExceptionType})")]
        public static partial void CacheUnavailable(ILogger logger, string upstream, string exceptionType);
    }
}
