using Microsoft.Extensions.Logging;
using Switchboard.Plugins;

namespace Switchboard.Pipeline;

/// <summary>
/// The composed message pipeline: every transport calls <see cref="CallToolAsync"/> and <see cref="ListToolsAsync"/>.
/// The chain is built once from the registered stages, ordered by <see cref="GatewayStage.Order"/>.
/// </summary>
public sealed partial class GatewayPipeline
{
    private readonly ToolCallHandler _call;
    private readonly ToolListHandler _list;

    public GatewayPipeline(IEnumerable<GatewayStage> stages, PluginInvocationHandler invoker, ILogger<GatewayPipeline> logger)
    {
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(invoker);

        Stages = Order(stages);
        ToolCallHandler call = invoker.InvokeAsync;
        ToolListHandler list = static (context, _) => ValueTask.FromResult(ToolListOutcome.FromTools(context.Catalog.Tools));

        // Reverse loop: the first stage in order ends up outermost.
        for (var i = Stages.Count - 1; i >= 0; i--)
        {
            var stage = Stages[i];
            var nextCall = call;
            var nextList = list;
            call = (context, cancellationToken) => stage.InvokeCallAsync(context, nextCall, cancellationToken);
            list = (context, cancellationToken) => stage.InvokeListAsync(context, nextList, cancellationToken);
        }

        _call = call;
        _list = list;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.PipelineComposed(logger, string.Join(" -> ", Stages.Select(s => s.Name).Append("invoke")));
        }
    }

    /// <summary>The stages in the order they run (outermost first).</summary>
    public IReadOnlyList<GatewayStage> Stages { get; }

    public ValueTask<ToolCallOutcome> CallToolAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _call(context, cancellationToken);
    }

    public ValueTask<ToolListOutcome> ListToolsAsync(ToolListContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _list(context, cancellationToken);
    }

    private static List<GatewayStage> Order(IEnumerable<GatewayStage> stages)
    {
        var ordered = stages.OrderBy(s => s.Order).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Order == ordered[i - 1].Order)
            {
                throw new InvalidOperationException(
                    $"Pipeline stages '{ordered[i - 1].Name}' and '{ordered[i].Name}' both claim position {ordered[i].Order}; each stage needs its own position.");
            }
        }

        return ordered;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, EventName = "PipelineComposed", Level = LogLevel.Debug, Message = "Message pipeline: {Stages}")]
        public static partial void PipelineComposed(ILogger logger, string stages);
    }
}
