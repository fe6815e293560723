using Microsoft.Extensions.Options;
using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance;

/// <summary>Builds the scanner the options ask for: built-in detectors (minus disabled, re-classed) plus custom rules.</summary>
internal static class ComplianceDetectors
{
    public static PiiScanner CreateScanner(IOptions<ComplianceOptions> options) => CreateScanner(options.Value);

    public static PiiScanner CreateScanner(ComplianceOptions options)
    {
        var regions = options.PhoneRegions.Select(r => r.ToUpperInvariant()).ToList();
        var disabled = options.DisabledDetectors.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var detectors = new List<Detector>();
        foreach (var detector in BuiltInDetectors.Create(regions))
        {
            if (disabled.Contains(detector.EntityType))
            {
                continue;
            }

            detectors.Add(options.DataClasses.TryGetValue(detector.EntityType, out var name) && DataClassNames.TryParse(name, out var dataClass)
                ? detector.WithClass(dataClass)
                : detector);
        }

        foreach (var rule in options.CustomRules)
        {
            var dataClass = DataClassNames.TryParse(rule.DataClass, out var parsed) ? parsed : DataClass.Confidential;
            var pattern = BuiltInDetectors.Compile(rule.Pattern, rule.IgnoreCase ? System.Text.RegularExpressions.RegexOptions.IgnoreCase : System.Text.RegularExpressions.RegexOptions.None);
            detectors.Add(new Detector(
                rule.Name,
                options.DataClasses.TryGetValue(rule.Name, out var overridden) && DataClassNames.TryParse(overridden, out var reclassed) ? reclassed : dataClass,
                rule.Secret ? EntityCategory.Secret : EntityCategory.Pii,
                new Lazy<System.Text.RegularExpressions.Regex>(pattern),
                MatchBoundary.AlphaNumeric,
                BuiltInDetectors.NamedValidator(rule.Validator, regions),
                priority: 45,
                validatorName: string.IsNullOrWhiteSpace(rule.Validator) ? "none" : rule.Validator.Trim().ToLowerInvariant()));
        }

        return new PiiScanner(detectors);
    }
}
