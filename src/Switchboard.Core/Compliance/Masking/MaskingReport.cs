using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance.Masking;

/// <summary>Where a masking pass runs: whose tool, which direction, which conversation and tenant.</summary>
public sealed record MaskingScope(string? Plugin, string? Tool, MaskingDirection Direction, string? ConversationId, string? Tenant);

/// <summary>One masking decision, aggregated per entity, action and field, as the audit record keeps it.</summary>
public sealed record MaskingDecision(string Direction, string Entity, string DataClass, string Action, string Field, int Count);

/// <summary>What one masking pass found and did. Holds counts and entity names only, never values.</summary>
public sealed class MaskingReport
{
    private readonly Dictionary<(string Entity, MaskingAction Action, string Field), (DataClass Class, int Count)> _decisions = [];

    public MaskingReport(MaskingDirection direction) => Direction = direction;

    public MaskingDirection Direction { get; }

    /// <summary>True when the payload was changed (masked, redacted, hashed, tokenized or tokens resolved).</summary>
    public bool Changed { get; internal set; }

    /// <summary>Findings per data class, whatever the action (allowed ones too).</summary>
    public SortedDictionary<string, int> CountsByClass { get; } = new(StringComparer.Ordinal);

    /// <summary>The first finding whose action is <see cref="MaskingAction.Block"/>, if any.</summary>
    public (DataClass Class, string Entity)? Blocked { get; internal set; }

    /// <summary>Values whose action was tokenize but which were redacted because the call had no conversation.</summary>
    public int TokenizeFallbacks { get; internal set; }

    /// <summary>Tokens in arguments resolved to their originals from this conversation's vault.</summary>
    public int TokensResolved { get; internal set; }

    /// <summary>Token-shaped strings in arguments that this conversation's vault does not know (left as they are).</summary>
    public int TokensUnresolved { get; internal set; }

    public int TotalFindings => CountsByClass.Values.Sum();

    public IReadOnlyList<MaskingDecision> Decisions => _decisions
        .OrderBy(d => d.Key.Field, StringComparer.Ordinal)
        .ThenBy(d => d.Key.Entity, StringComparer.Ordinal)
        .Select(d => new MaskingDecision(Direction.ToName(), d.Key.Entity, d.Value.Class.ToName(), d.Key.Action.ToName(), d.Key.Field, d.Value.Count))
        .ToList();

    internal void Record(in Finding finding, MaskingAction action, string field)
    {
        var className = finding.Class.ToName();
        CountsByClass[className] = CountsByClass.GetValueOrDefault(className) + 1;
        var key = (finding.EntityType, action, field);
        var existing = _decisions.GetValueOrDefault(key);
        _decisions[key] = (finding.Class, existing.Count + 1);
        if (action == MaskingAction.Block && Blocked is null)
        {
            Blocked = (finding.Class, finding.EntityType);
        }
    }
}
