// The conformance scenarios exercise features the 2026-07-28 revision deprecates (sampling, roots, logging) because
// 2025-11-25 clients still use them; the SDK marks those APIs obsolete (MCP9005).
#pragma warning disable MCP9005
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Switchboard.Transports.Mcp;

namespace Switchboard.Plugins.Conformance;

/// <summary>Tells which protocol era a fixture request belongs to.</summary>
internal static class ProtocolEra
{
    /// <summary>True for 2026-07-28 requests (per-request <c>_meta</c>, no session).</summary>
    public static bool IsModern<TParams>(RequestContext<TParams> context)
        => ProtocolVersions.IsModern(context.JsonRpcRequest.Context?.ProtocolVersion ?? context.Server.NegotiatedProtocolVersion);
}

/// <summary>
/// Sends <c>notifications/message</c> to the caller, honouring the level the caller asked for: a 2026-07-28 request
/// opts in per request (<c>_meta/io.modelcontextprotocol/logLevel</c>; no level means no logs), a 2025-11-25 session
/// with <c>logging/setLevel</c> (no level set yet means the server may choose, and these fixtures do log).
/// </summary>
internal static class ClientLog
{
    public const string LoggerName = "conformance";

    public static Task SendAsync<TParams>(RequestContext<TParams> context, LoggingLevel level, string message, CancellationToken cancellationToken)
    {
        LoggingLevel? threshold;
        if (ProtocolEra.IsModern(context))
        {
            threshold = context.JsonRpcRequest.Context?.LogLevel;
            if (threshold is null)
            {
                return Task.CompletedTask;
            }
        }
        else
        {
            threshold = context.Server.LoggingLevel;
        }

        if (threshold is { } minimum && level < minimum)
        {
            return Task.CompletedTask;
        }

        return context.Server.SendNotificationAsync(
            NotificationMethods.LoggingMessageNotification,
            new LoggingMessageNotificationParams
            {
                Level = level,
                Logger = LoggerName,
                Data = JsonSerializer.SerializeToElement(message, McpJsonUtilities.DefaultOptions.GetTypeInfo<string>()),
            },
            cancellationToken: cancellationToken);
    }
}

/// <summary>
/// Integrity protection for MRTR <c>requestState</c>: the state travels through the client, so the server signs it
/// (HMAC-SHA256 with a key that lives only in this process) and refuses any state it did not issue. The payload is
/// readable by the client; nothing secret goes in it.
/// </summary>
internal static class RequestStateProtector
{
    private static readonly byte[] s_key = RandomNumberGenerator.GetBytes(32);

    public static string Protect(JsonObject payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        payload["nonce"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var data = Encoding.UTF8.GetBytes(payload.ToJsonString());
        return Base64Url.EncodeToString(data) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(s_key, data));
    }

    /// <summary>Returns the payload of a state this process issued, or <see langword="null"/> for anything else.</summary>
    public static JsonObject? Unprotect(string? state)
    {
        if (string.IsNullOrEmpty(state) || state.IndexOf('.', StringComparison.Ordinal) is var dot && dot <= 0)
        {
            return null;
        }

        try
        {
            var data = Base64Url.DecodeFromChars(state.AsSpan(0, dot));
            var signature = Base64Url.DecodeFromChars(state.AsSpan(dot + 1));
            if (!CryptographicOperations.FixedTimeEquals(signature, HMACSHA256.HashData(s_key, data)))
            {
                return null;
            }

            return JsonNode.Parse(data) as JsonObject;
        }
        catch (FormatException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The error a tampered or foreign state gets: a protocol error, never a re-prompt.</summary>
    public static McpProtocolException Rejected() => new("requestState failed its integrity check; start the call again without requestState.", McpErrorCode.InvalidParams);
}
