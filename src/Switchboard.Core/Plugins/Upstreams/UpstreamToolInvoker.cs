using ModelContextProtocol.Protocol;

namespace Switchboard.Plugins.Upstreams;

/// <summary>Runs one upstream tool: hands the call to the upstream's supervisor, which owns the shared connection.</summary>
internal sealed class UpstreamToolInvoker(UpstreamSupervisor supervisor, string toolName) : IToolInvoker
{
    public UpstreamSupervisor Supervisor { get; } = supervisor;

    /// <summary>The tool's own name on the upstream (before namespacing or aliasing).</summary>
    public string ToolName { get; } = toolName;

    public ValueTask<CallToolResult> InvokeAsync(ToolInvocation invocation, CancellationToken cancellationToken)
        => Supervisor.CallAsync(ToolName, invocation, cancellationToken);
}
