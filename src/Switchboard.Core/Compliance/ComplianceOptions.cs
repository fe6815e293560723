namespace Switchboard.Compliance;

/// <summary>
/// PII and secret masking, data classes and the audit log; bound from <c>Switchboard:Compliance</c> and validated at
/// start (an invalid custom pattern stops the server with a message naming it). See docs/compliance.md.
/// </summary>
public sealed class ComplianceOptions
{
    public const string SectionName = "Switchboard:Compliance";

    /// <summary>Set to false to turn detection and masking off (the audit log stays on; see <see cref="AuditOptions.Enabled"/>).</summary>
    public bool MaskingEnabled { get; set; } = true;

    /// <summary>Regions (ISO 3166 alpha-2) whose national phone formats are recognised without a leading '+'.</summary>
    public List<string> PhoneRegions { get; set; } = ["US"];

    /// <summary>Built-in detectors to switch off, by entity type (e.g. <c>IP_ADDRESS</c>).</summary>
    public List<string> DisabledDetectors { get; set; } = [];

    /// <summary>Overrides of the data class of a detector: entity type → public | internal | confidential | restricted.</summary>
    public Dictionary<string, string> DataClasses { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Extra detectors from configuration.</summary>
    public List<CustomRuleOptions> CustomRules { get; set; } = [];

    /// <summary>The policy for every plugin; overrides the built-in defaults key by key.</summary>
    public DirectionRules Policy { get; set; } = new();

    /// <summary>Per-plugin policy, keyed by plugin name; overrides <see cref="Policy"/>.</summary>
    public Dictionary<string, PluginPolicyOptions> Plugins { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Base64 key (at least 32 bytes) for the <c>hash</c> action and the audit digests; <c>{env:NAME}</c> and
    /// <c>{file:/path}</c> work. When empty, a key is created on first start and kept encrypted in the database.
    /// </summary>
    public string? HashKey { get; set; }

    public TokenVaultOptions Vault { get; set; } = new();

    public AuditOptions Audit { get; set; } = new();
}

/// <summary>One custom detector.</summary>
public sealed class CustomRuleOptions
{
    /// <summary>Entity type the rule reports (upper-case letters, digits, '_'), e.g. <c>EMPLOYEE_ID</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>A .NET regular expression, run with the linear-time engine (no lookarounds or backreferences).</summary>
    public string Pattern { get; set; } = string.Empty;

    /// <summary>none | luhn | mod97 | iso7064-mod11-2 | gb32100-mod31 | phone.</summary>
    public string? Validator { get; set; }

    /// <summary>public | internal | confidential | restricted.</summary>
    public string DataClass { get; set; } = "confidential";

    /// <summary>True when the rule finds a credential (policies address these with the key <c>secret</c>).</summary>
    public bool Secret { get; set; }

    /// <summary>Match case-insensitively.</summary>
    public bool IgnoreCase { get; set; }
}

/// <summary>
/// Actions per direction. Keys are an entity type (<c>EMAIL</c>), a category (<c>secret</c>, <c>pii</c>), a data class
/// (<c>confidential</c>) or <c>*</c>; values are allow | mask | redact | hash | tokenize | block.
/// </summary>
public class DirectionRules
{
    /// <summary>Applied to tool arguments before the plugin runs.</summary>
    public Dictionary<string, string> Arguments { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Applied to tool results before the caller sees them.</summary>
    public Dictionary<string, string> Results { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Policy of one plugin.</summary>
public sealed class PluginPolicyOptions : DirectionRules
{
    /// <summary>Per-tool policy, keyed by the tool's own (un-namespaced) name.</summary>
    public Dictionary<string, ToolPolicyOptions> Tools { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Policy of one tool.</summary>
public sealed class ToolPolicyOptions : DirectionRules
{
    /// <summary>
    /// Per-field policy, keyed by a dotted path inside the arguments object or the result (<c>customer.phone</c>,
    /// <c>structuredContent.email</c>, <c>content.text</c>); array indices are left out, <c>*</c> matches one segment,
    /// and a path covers everything under it.
    /// </summary>
    public Dictionary<string, DirectionRules> Fields { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The reversible <c>tokenize</c> action's vault, one per conversation, kept in memory only.</summary>
public sealed class TokenVaultOptions
{
    /// <summary>Most distinct values one conversation's vault holds; beyond it new values are redacted.</summary>
    public int MaxEntriesPerConversation { get; set; } = 10_000;

    /// <summary>Most conversations with a vault at once; the least recently used is dropped beyond it.</summary>
    public int MaxConversations { get; set; } = 10_000;

    /// <summary>A vault unused this long is dropped (its tokens no longer resolve).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>The tamper-evident audit log.</summary>
public sealed class AuditOptions
{
    /// <summary>Set to false to run without an audit log (not recommended; nothing is recorded).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The audit database file, relative to the data folder.</summary>
    public string FileName { get; set; } = "audit.db";

    /// <summary>
    /// True (default): a tool call runs only after its intent record is durably written; when the log cannot be written
    /// the call is refused. False: the call runs anyway and the failure is logged.
    /// </summary>
    public bool FailClosed { get; set; } = true;

    /// <summary>
    /// True (default): every commit is fsynced, so a record a call waited for survives a power loss. False: a commit is
    /// fsynced only at WAL checkpoints; a record survives a crash or kill of the process (it is in the operating
    /// system), but a power loss or kernel crash can lose the last commits. Cheaper per call; for disks that are
    /// themselves replicated or battery-backed, where the fsync buys little.
    /// </summary>
    public bool SurvivesPowerLoss { get; set; } = true;

    /// <summary>How often a signed checkpoint is written, also when idle; one is always written at shutdown.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Folder that receives a copy of every checkpoint (<c>checkpoints.jsonl</c>) and the public keys that signed them
    /// (<c>keys.jwks</c>). Put it on another volume or trust domain; relative paths are under the data folder.
    /// </summary>
    public string ExportDirectory { get; set; } = "audit-export";

    /// <summary>Most records written in one commit (group commit).</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>How long a write may wait for the database before the call is refused (fail closed).</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest masked summary of arguments or results kept in a record, in characters.</summary>
    public int SummaryLength { get; set; } = 256;
}
