using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Switchboard.Transports.Http;

/// <summary>
/// Writes a JSON-RPC error (with a null id: the request was refused before it was read) as an HTTP response. Used by
/// the HTTP guards, which answer before the MCP endpoint sees the request.
/// </summary>
internal static class JsonRpcHttpError
{
    /// <summary>JSON-RPC "invalid request".</summary>
    public const int InvalidRequest = -32600;

    /// <summary>Implementation-defined server error, used for refusals by policy.</summary>
    public const int ServerError = -32000;

    public static async Task WriteAsync(HttpContext context, int statusCode, int code, string message, bool closeConnection = false)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        if (closeConnection)
        {
            // The unread request body cannot be skipped safely; the client must not reuse this connection.
            context.Response.Headers.Connection = "close";
        }
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc", "2.0");
        writer.WriteNull("id");
        writer.WriteStartObject("error");
        writer.WriteNumber("code", code);
        writer.WriteString("message", message);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
