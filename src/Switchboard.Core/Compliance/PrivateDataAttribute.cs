using Microsoft.Extensions.Compliance.Classification;

namespace Switchboard.Compliance;

/// <summary>Switchboard's data taxonomy for its own logs (Microsoft.Extensions.Compliance).</summary>
public static class SwitchboardTaxonomy
{
    public const string Name = "Switchboard";

    /// <summary>Personal data: principals' subjects, conversation handles. Logged only as an HMAC pseudonym.</summary>
    public static DataClassification PrivateData { get; } = new(Name, "PrivateData");
}

/// <summary>Marks a log parameter as personal data: with redaction enabled it is written as a keyed pseudonym, never as is.</summary>
[AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Field)]
public sealed class PrivateDataAttribute : DataClassificationAttribute
{
    public PrivateDataAttribute()
        : base(SwitchboardTaxonomy.PrivateData)
    {
    }
}
