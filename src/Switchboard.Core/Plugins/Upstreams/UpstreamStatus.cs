namespace Switchboard.Plugins.Upstreams;

/// <summary>How an upstream is doing, as callers and the tool list see it.</summary>
/// <param name="IsAvailable">False while it failed to start, is waiting to restart, or its circuit is open.</param>
/// <param name="Reason">Why it is unavailable, written for the model (no secrets, no stderr).</param>
/// <param name="RetryAt">When the next restart or trial call happens.</param>
internal readonly record struct UpstreamStatus(bool IsAvailable, string? Reason, DateTimeOffset? RetryAt);
