using Microsoft.Extensions.Logging;

namespace Switchboard.Plugins.Upstreams;

internal sealed partial class UpstreamSupervisor
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2200, EventName = "UpstreamStarting", Level = LogLevel.Debug, Message = "Upstream {Upstream}: starting ({Transport})")]
        public static partial void Starting(ILogger logger, string upstream, string transport);

        [LoggerMessage(EventId = 2201, EventName = "UpstreamStarted", Level = LogLevel.Information, Message = "Upstream {Upstream}: connected with {ToolCount} tools (MCP {ProtocolVersion})")]
        public static partial void Started(ILogger logger, string upstream, int toolCount, string protocolVersion);

        [LoggerMessage(EventId = 2202, EventName = "UpstreamStartFailed", Level = LogLevel.Warning, Message = "Upstream {Upstream}: could not be started: {Reason}; next attempt in {DelayMs} ms")]
        public static partial void StartFailed(ILogger logger, string upstream, string reason, double delayMs);

        [LoggerMessage(EventId = 2203, EventName = "UpstreamCrashed", Level = LogLevel.Warning, Message = "Upstream {Upstream}: stopped unexpectedly ({End}); restarting in {DelayMs} ms")]
        public static partial void Crashed(ILogger logger, string upstream, string end, double delayMs);

        [LoggerMessage(EventId = 2204, EventName = "UpstreamStopped", Level = LogLevel.Information, Message = "Upstream {Upstream}: stopped because {Why}")]
        public static partial void Stopped(ILogger logger, string upstream, string why);

        [LoggerMessage(EventId = 2205, EventName = "UpstreamCircuitOpened", Level = LogLevel.Warning, Message = "Upstream {Upstream}: circuit opened for {BreakMs} ms after repeated failures or timeouts; reconnecting")]
        public static partial void CircuitOpened(ILogger logger, string upstream, double breakMs);

        [LoggerMessage(EventId = 2206, EventName = "UpstreamCircuitClosed", Level = LogLevel.Information, Message = "Upstream {Upstream}: circuit closed, calls flow again")]
        public static partial void CircuitClosed(ILogger logger, string upstream);

        [LoggerMessage(EventId = 2207, EventName = "UpstreamCallFailed", Level = LogLevel.Warning, Message = "Upstream {Upstream}: call to {Tool} failed: {Reason}")]
        public static partial void CallFailed(ILogger logger, string upstream, string tool, string reason);

        [LoggerMessage(EventId = 2208, EventName = "UpstreamBusy", Level = LogLevel.Information, Message = "Upstream {Upstream}: call refused, {MaxConcurrency} running and {MaxQueued} queued")]
        public static partial void CallRefusedBusy(ILogger logger, string upstream, int maxConcurrency, int maxQueued);

        [LoggerMessage(EventId = 2209, EventName = "UpstreamToolsChanged", Level = LogLevel.Information, Message = "Upstream {Upstream}: tool list changed ({ToolCount} tools)")]
        public static partial void ToolsChanged(ILogger logger, string upstream, int toolCount);

        [LoggerMessage(EventId = 2210, EventName = "UpstreamToolRefreshFailed", Level = LogLevel.Warning, Message = "Upstream {Upstream}: could not list its tools after a change ({ExceptionType})")]
        public static partial void RefreshFailed(ILogger logger, string upstream, string exceptionType);

        [LoggerMessage(EventId = 2211, EventName = "UpstreamProgressRelayFailed", Level = LogLevel.Debug, Message = "Upstream {Upstream}: a progress notification could not be relayed to its caller ({ExceptionType})")]
        public static partial void ProgressRelayFailed(ILogger logger, string upstream, string exceptionType);

        [LoggerMessage(EventId = 2212, EventName = "UpstreamChangeHandlerFailed", Level = LogLevel.Error, Message = "Upstream {Upstream}: a change handler threw {ExceptionType}")]
        public static partial void ChangeHandlerFailed(ILogger logger, string upstream, string exceptionType);
    }
}
