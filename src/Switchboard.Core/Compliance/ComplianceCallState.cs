using Switchboard.Compliance.Masking;

namespace Switchboard.Compliance;

/// <summary>
/// Per-call compliance facts the audit record needs: masking reports of both directions, digests and masked summaries,
/// and the sequence number of the durable intent record. Holds no raw values.
/// </summary>
public sealed class ComplianceCallState
{
    public MaskingReport? Arguments { get; set; }

    public MaskingReport? Results { get; set; }

    /// <summary>Keyed digest of the arguments as the caller sent them.</summary>
    public string? ArgumentsDigest { get; set; }

    /// <summary>The arguments with every finding masked, truncated.</summary>
    public string? ArgumentsSummary { get; set; }

    /// <summary>Keyed digest of the result as the plugin returned it.</summary>
    public string? ResultDigest { get; set; }

    /// <summary>The result with every finding masked, truncated.</summary>
    public string? ResultSummary { get; set; }

    /// <summary>Sequence number of the intent record, once it is durably written.</summary>
    public long? IntentSequence { get; set; }

    /// <summary>True when the call was refused because the audit log could not be written (fail closed).</summary>
    public bool AuditUnavailable { get; set; }

    /// <summary>True when masking refused the arguments or withheld the result.</summary>
    public bool Blocked { get; set; }
}
