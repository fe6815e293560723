namespace Switchboard.Conversations;

/// <summary>
/// The names by which conversations travel on the wire. Every <c>_meta</c> key Switchboard owns starts with
/// <c>dev.switchboard/</c>; see docs/conversations.md. These names are a contract with clients, upstream plugin authors
/// and the compliance stages (which scope their vaults by the verified conversation): never rename them.
/// </summary>
public static class ConversationProtocol
{
    /// <summary>
    /// The conversation handle: in a request's <c>_meta</c> (2026-07-28 clients), and echoed in the <c>_meta</c> of
    /// results of calls made inside a conversation (so clients can pick up a re-signed handle).
    /// </summary>
    public const string HandleMetaKey = "dev.switchboard/conversation";

    /// <summary>The operation id of a call, in the request's <c>_meta</c>: a replayed id returns the first result.</summary>
    public const string OperationMetaKey = "dev.switchboard/operation";

    /// <summary>Sent to upstream plugins in the request's <c>_meta</c>: the snapshot of the keys they declared.</summary>
    public const string StateMetaKey = "dev.switchboard/state";

    /// <summary>Returned by upstream plugins in the result's <c>_meta</c>: the writes of the call (one atomic batch).</summary>
    public const string StateWritesMetaKey = "dev.switchboard/state-writes";

    /// <summary>REST: the request header carrying the handle (and the response header echoing it).</summary>
    public const string HandleHeader = "Switchboard-Conversation";

    /// <summary>REST: the request header carrying the operation id.</summary>
    public const string OperationHeader = "Idempotency-Key";

    /// <summary>
    /// The optional argument that conversation-aware tools list, for clients that cannot set <c>_meta</c>: the model
    /// passes the handle that <c>conversation_open</c> returned. The gateway removes it before the plugin sees the
    /// arguments.
    /// </summary>
    public const string HandleArgument = "conversation_handle";
}
