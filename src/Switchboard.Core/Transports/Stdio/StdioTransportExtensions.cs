using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Transports.Mcp;

namespace Switchboard.Transports.Stdio;

public static class StdioTransportExtensions
{
    /// <summary>
    /// Adds the stdio transport: one MCP session on the process's standard input and output (newline-delimited
    /// JSON-RPC), for a client that starts Switchboard as a child process (Claude Desktop, Claude Code). The session is
    /// a 2025-11-25 <c>initialize</c> session or 2026-07-28 per-request <c>_meta</c>, as the client chooses, and runs
    /// the same handlers and pipeline as every other transport. The application stops when the client closes standard
    /// input. Standard output must carry nothing but MCP messages, so the host must log to standard error only.
    /// </summary>
    /// <remarks>
    /// Add it after everything that must be ready before the first message is read: hosted services start in
    /// registration order, and the session starts reading when its own hosted service starts.
    /// </remarks>
    public static ISwitchboardBuilder AddStdioTransport(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        // The SDK's stdio transport does not mark its messages with a per-request transport, so in a process that
        // serves stdio a request without one came through stdio. Replace rather than TryAdd, so this holds whatever
        // registered a default first; Streamable HTTP and Switchboard's own transports mark their requests anyway.
        services.RemoveAll<McpTransportResolver>();
        services.AddSingleton(new McpTransportResolver(GatewayTransport.Stdio));
        services.AddHostedService<StdioSession>();
        return builder;
    }
}
