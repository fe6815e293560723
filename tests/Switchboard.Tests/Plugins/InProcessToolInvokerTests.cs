using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

/// <summary>In-process tools called without an MCP session (as the REST transport does).</summary>
public sealed class InProcessToolInvokerTests
{
    [Fact]
    public async Task CallWithoutMcpRequest_RunsTheToolInADetachedServer()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        var pipeline = server.GetRequiredService<GatewayPipeline>();
        var catalog = server.GetRequiredService<ToolCatalog>();

        var context = new ToolCallContext(GatewayTransport.Rest, "text_echo", catalog.Current, TimeProvider.System.GetTimestamp())
        {
            Arguments = new Dictionary<string, JsonElement> { ["text"] = JsonSerializer.SerializeToElement("no session") },
        };
        var outcome = await pipeline.CallToolAsync(context, TestContext.Current.CancellationToken);

        Assert.Equal("no session", Assert.IsType<TextContentBlock>(Assert.Single(outcome.Result!.Content)).Text);
        Assert.Equal(ToolCallOutcomeKind.Success, context.OutcomeKind);
    }

    [Fact]
    public async Task ToolThatAsksTheClientForInput_FailsFastWithoutAnMcpClient()
    {
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.AddPlugin<AskingTools>("asking", "1.0.0"),
            cancellationToken: TestContext.Current.CancellationToken);
        var pipeline = server.GetRequiredService<GatewayPipeline>();
        var context = new ToolCallContext(GatewayTransport.Rest, "asking_confirm", server.GetRequiredService<ToolCatalog>().Current, TimeProvider.System.GetTimestamp());

        var outcome = await pipeline.CallToolAsync(context, TestContext.Current.CancellationToken);

        Assert.True(outcome.Result!.IsError);
        Assert.NotEqual(ToolCallOutcomeKind.Timeout, context.OutcomeKind);
    }

    [ModelContextProtocol.Server.McpServerToolType]
    public sealed class AskingTools
    {
        [ModelContextProtocol.Server.McpServerTool(Name = "confirm")]
        public static async Task<string> Confirm(ModelContextProtocol.Server.McpServer server, CancellationToken cancellationToken)
        {
            var answer = await server.ElicitAsync(
                new ElicitRequestParams { Message = "Sure?", RequestedSchema = new ElicitRequestParams.RequestSchema() },
                cancellationToken);
            return answer.Action;
        }
    }
}
