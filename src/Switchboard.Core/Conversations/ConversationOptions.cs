using Microsoft.Extensions.Options;

namespace Switchboard.Conversations;

/// <summary>Conversation handles, expiry and state limits, bound from <c>Switchboard:Conversations</c>.</summary>
public sealed class ConversationOptions
{
    public const string SectionName = "Switchboard:Conversations";

    /// <summary>A conversation with no call for this long expires, and its state is deleted.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often expired conversations are deleted and idle ones leave memory.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a committed operation id is remembered, so a replay returns the first result.</summary>
    public TimeSpan OperationRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Most keys one conversation may hold.</summary>
    public int MaxKeys { get; set; } = 256;

    /// <summary>Largest value of one key (or one appended entry, or one set member), as UTF-8 JSON.</summary>
    public int MaxValueBytes { get; set; } = 64 * 1024;

    /// <summary>Entries an <c>append</c> key keeps; older ones are dropped first.</summary>
    public int MaxAppendEntries { get; set; } = 1000;

    /// <summary>
    /// On 2025-11-25 sessions and WebSocket or stdio connections that speak 2025-11-25, <c>tools/list</c> leaves out the
    /// workflow tools the conversation's current state does not allow, and a transition sends
    /// <c>notifications/tools/list_changed</c>. 2026-07-28 lists never depend on state.
    /// </summary>
    public bool ListFollowsState { get; set; }
}

/// <summary>Checks <see cref="ConversationOptions"/> at start.</summary>
internal sealed class ConversationOptionsValidator : IValidateOptions<ConversationOptions>
{
    public ValidateOptionsResult Validate(string? name, ConversationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.IdleTimeout < TimeSpan.FromSeconds(1) || options.IdleTimeout > TimeSpan.FromDays(30))
        {
            failures.Add("Switchboard:Conversations:IdleTimeout must be between 1 second and 30 days.");
        }

        if (options.SweepInterval < TimeSpan.FromMilliseconds(100) || options.SweepInterval > TimeSpan.FromHours(1))
        {
            failures.Add("Switchboard:Conversations:SweepInterval must be between 100 ms and 1 hour.");
        }

        if (options.OperationRetention < TimeSpan.FromMinutes(1) || options.OperationRetention > TimeSpan.FromDays(30))
        {
            failures.Add("Switchboard:Conversations:OperationRetention must be between 1 minute and 30 days.");
        }

        if (options.MaxKeys is < 1 or > 10_000)
        {
            failures.Add("Switchboard:Conversations:MaxKeys must be between 1 and 10000.");
        }

        if (options.MaxValueBytes is < 16 or > 4 * 1024 * 1024)
        {
            failures.Add("Switchboard:Conversations:MaxValueBytes must be between 16 and 4194304.");
        }

        if (options.MaxAppendEntries is < 1 or > 100_000)
        {
            failures.Add("Switchboard:Conversations:MaxAppendEntries must be between 1 and 100000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
