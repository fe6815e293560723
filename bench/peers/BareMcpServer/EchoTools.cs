using System.ComponentModel;
using ModelContextProtocol.Server;

namespace Switchboard.Bench.Peers.BareMcpServer;

/// <summary>The same tool Switchboard serves as <c>text_echo</c>, under the same name, so request bytes are identical.</summary>
[McpServerToolType]
internal sealed class EchoTools
{
    [McpServerTool(Name = "text_echo", Title = "Echo", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Returns its text argument unchanged.")]
    public static string Echo([Description("The text to return.")] string text) => text;
}
