namespace Switchboard.Plugins;

/// <summary>Which thread a plugin's tool calls start on.</summary>
public enum ToolExecution
{
    /// <summary>
    /// Each call starts on a thread-pool thread of its own, so the caller is answered at the tool's timeout even if
    /// the tool blocks its thread (a synchronous driver call, <c>Thread.Sleep</c>). The default.
    /// </summary>
    ThreadPool,

    /// <summary>
    /// Each call starts on the caller's thread, which saves a thread hop and lets a tool that finishes at once complete
    /// the whole request synchronously. Only for tools that never block: one that does holds its caller until it
    /// returns, past its timeout. Upstream MCP servers run this way (their calls are network I/O).
    /// </summary>
    Inline,
}
