namespace Switchboard.Compliance.Detection;

/// <summary>How sensitive a kind of data is. Each detector maps to one class; policies can name a class instead of each entity.</summary>
public enum DataClass
{
    /// <summary>May be shown to anyone.</summary>
    Public,

    /// <summary>Inside the organisation only (IP addresses, company registration codes).</summary>
    Internal,

    /// <summary>Personal data (e-mail, phone numbers).</summary>
    Confidential,

    /// <summary>Identifiers and credentials whose leak does direct harm (national ids, cards, IBANs, secrets).</summary>
    Restricted,
}

/// <summary>Whether a detector finds personal data or a credential; policies can address all secrets with the key <c>secret</c>.</summary>
public enum EntityCategory
{
    Pii,
    Secret,
}

internal static class DataClassNames
{
    public static string ToName(this DataClass dataClass) => dataClass switch
    {
        DataClass.Public => "public",
        DataClass.Internal => "internal",
        DataClass.Confidential => "confidential",
        DataClass.Restricted => "restricted",
        _ => "unknown",
    };

    public static bool TryParse(string? value, out DataClass dataClass)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "public":
                dataClass = DataClass.Public;
                return true;
            case "internal":
                dataClass = DataClass.Internal;
                return true;
            case "confidential":
                dataClass = DataClass.Confidential;
                return true;
            case "restricted":
                dataClass = DataClass.Restricted;
                return true;
            default:
                dataClass = default;
                return false;
        }
    }
}
