using Switchboard.Bench.Idle;

namespace Switchboard.Tests.Bench;

/// <summary>The per-connection difference of two heap histograms, whose answer is known (the ClrMD walk itself needs a live process).</summary>
public sealed class HeapHistogramTests
{
    [Fact]
    public void PerItem_DividesWhatGrewByTheItems_LargestFirst_AndLeavesOutWhatShrankOrStayed()
    {
        var before = new Dictionary<string, HeapTypeCount>
        {
            ["System.String"] = new(100, 10_000),
            ["Switchboard.Transports.WebSockets.WebSocketServerTransport"] = new(1, 96),
            ["System.Object"] = new(50, 1_200),
            ["Gone.Type"] = new(3, 300),
        };
        var after = new Dictionary<string, HeapTypeCount>
        {
            ["System.String"] = new(300, 30_000),
            ["Switchboard.Transports.WebSockets.WebSocketServerTransport"] = new(11, 1_056),
            ["System.Object"] = new(50, 1_200),
            ["ModelContextProtocol.Server.McpServerImpl"] = new(10, 2_160),
        };

        var rows = HeapHistogram.PerItem(before, after, 10);

        Assert.Equal(["System.String", "ModelContextProtocol.Server.McpServerImpl", "Switchboard.Transports.WebSockets.WebSocketServerTransport"], rows.Select(r => r.Type));
        Assert.Equal(2_000, rows[0].BytesPerItem);
        Assert.Equal(20, rows[0].CountPerItem);
        Assert.Equal(216, rows[1].BytesPerItem);
        Assert.Equal(96, rows[2].BytesPerItem);
        Assert.Equal(1, rows[2].CountPerItem);
    }

    [Theory]
    [InlineData("Switchboard.Conversations.ConversationActor", "Switchboard")]
    [InlineData("System.Collections.Concurrent.ConcurrentDictionary<System.String, Switchboard.Conversations.ConversationActor>+Node", "Switchboard")]
    [InlineData("ModelContextProtocol.McpSessionHandler", "MCP C# SDK")]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.Http1Connection<Microsoft.AspNetCore.Hosting.HostingApplication+Context>", "Kestrel and ASP.NET Core")]
    [InlineData("System.IO.Pipelines.Pipe", "Kestrel and ASP.NET Core")]
    [InlineData("System.Net.WebSockets.ManagedWebSocket", "WebSocket")]
    [InlineData("System.String", "strings")]
    [InlineData("System.Threading.CancellationTokenSource+CallbackNode", "other runtime types")]
    public void GroupOf_NamesTheOwner(string type, string group) => Assert.Equal(group, HeapHistogram.GroupOf(type));

    [Fact]
    public void Render_GivesTheTotal_TheGroups_AndTheTopTypesAsMarkdown()
    {
        var rows = new List<HeapGrowth>
        {
            new("System.String", "strings", 18, 1_700),
            new("ModelContextProtocol.Server.McpServerImpl", "MCP C# SDK", 1, 216),
            new("A|B", "other runtime types", 1, 24),
        };

        var text = HeapHistogram.Render(rows, 2_000, top: 2);

        Assert.Contains("(2,000 items): **1,940 B**", text, StringComparison.Ordinal);
        Assert.Contains("| strings | 1,700 |", text, StringComparison.Ordinal);
        Assert.Contains("| `System.String` | strings | 18.00 | 1,700 |", text, StringComparison.Ordinal);
        Assert.DoesNotContain("`A\\|B`", text, StringComparison.Ordinal);
        Assert.Contains("| other runtime types | 24 |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void PerItem_RefusesZeroItems()
        => Assert.Throws<ArgumentOutOfRangeException>(() => HeapHistogram.PerItem(new Dictionary<string, HeapTypeCount>(), new Dictionary<string, HeapTypeCount>(), 0));
}
