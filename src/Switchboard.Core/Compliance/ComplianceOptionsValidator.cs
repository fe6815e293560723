using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;

namespace Switchboard.Compliance;

/// <summary>Checks <see cref="ComplianceOptions"/> at start; every problem is listed, naming the setting.</summary>
internal sealed partial class ComplianceOptionsValidator : IValidateOptions<ComplianceOptions>
{
    private const string Prefix = ComplianceOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, ComplianceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var known = BuiltInDetectors.Create(["US"]).Select(d => d.EntityType).ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var region in options.PhoneRegions)
        {
            if (!PhoneNumbers.PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(region.ToUpperInvariant()))
            {
                failures.Add($"{Prefix}:PhoneRegions entry '{region}' is not a region libphonenumber knows (use ISO 3166 alpha-2, e.g. US, GB, CN).");
            }
        }

        foreach (var disabled in options.DisabledDetectors)
        {
            if (!known.Contains(disabled))
            {
                failures.Add($"{Prefix}:DisabledDetectors entry '{disabled}' is not a built-in detector ({string.Join(", ", known.Order(StringComparer.Ordinal))}).");
            }
        }

        foreach (var (entity, dataClass) in options.DataClasses)
        {
            if (!DataClassNames.TryParse(dataClass, out _))
            {
                failures.Add($"{Prefix}:DataClasses:{entity} must be public, internal, confidential or restricted.");
            }
        }

        for (var i = 0; i < options.CustomRules.Count; i++)
        {
            // The rule's name in every message, so an operator finds the rule without counting list entries.
            var rule = options.CustomRules[i];
            ValidateRule(rule, $"{Prefix}:CustomRules:{i} ('{Pipeline.GatewayError.Printable(rule.Name)}')", failures);
            if (known.Contains(options.CustomRules[i].Name))
            {
                failures.Add($"{Prefix}:CustomRules:{i}:Name '{options.CustomRules[i].Name}' is the name of a built-in detector; choose another.");
            }
        }

        ValidateRules(options.Policy, $"{Prefix}:Policy", failures);
        foreach (var (plugin, settings) in options.Plugins)
        {
            ValidateRules(settings, $"{Prefix}:Plugins:{plugin}", failures);
            foreach (var (tool, toolSettings) in settings.Tools)
            {
                ValidateRules(toolSettings, $"{Prefix}:Plugins:{plugin}:Tools:{tool}", failures);
                foreach (var (field, rules) in toolSettings.Fields)
                {
                    ValidateRules(rules, $"{Prefix}:Plugins:{plugin}:Tools:{tool}:Fields:{field}", failures);
                }
            }
        }

        if (options.Vault.MaxEntriesPerConversation is < 1 or > 1_000_000)
        {
            failures.Add($"{Prefix}:Vault:MaxEntriesPerConversation must be between 1 and 1000000.");
        }

        if (options.Vault.MaxConversations is < 1 or > 10_000_000)
        {
            failures.Add($"{Prefix}:Vault:MaxConversations must be between 1 and 10000000.");
        }

        if (options.Vault.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}:Vault:IdleTimeout must be positive.");
        }

        var audit = options.Audit;
        if (string.IsNullOrWhiteSpace(audit.FileName) || audit.FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            failures.Add($"{Prefix}:Audit:FileName must be a file name.");
        }

        if (audit.CheckpointInterval < TimeSpan.FromSeconds(1) || audit.CheckpointInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}:Audit:CheckpointInterval must be between 1 second and 1 day.");
        }

        if (string.IsNullOrWhiteSpace(audit.ExportDirectory))
        {
            failures.Add($"{Prefix}:Audit:ExportDirectory must name a folder.");
        }

        if (audit.MaxBatchSize is < 1 or > 10_000)
        {
            failures.Add($"{Prefix}:Audit:MaxBatchSize must be between 1 and 10000.");
        }

        if (audit.WriteTimeout <= TimeSpan.Zero || audit.WriteTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Prefix}:Audit:WriteTimeout must be positive and at most 5 minutes.");
        }

        if (audit.SummaryLength is < 0 or > 65_536)
        {
            failures.Add($"{Prefix}:Audit:SummaryLength must be between 0 and 65536.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateRule(CustomRuleOptions rule, string setting, List<string> failures)
    {
        if (!EntityName().IsMatch(rule.Name))
        {
            failures.Add($"{setting}:Name must be 1-40 characters of A-Z, 0-9 and '_', starting with a letter.");
        }

        if (string.IsNullOrEmpty(rule.Pattern))
        {
            failures.Add($"{setting}:Pattern is empty.");
        }
        else
        {
            try
            {
                _ = BuiltInDetectors.Compile(rule.Pattern);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"{setting}:Pattern is not usable: {ex.Message} (patterns run on the linear-time engine: no lookarounds, backreferences, atomic groups or conditionals).");
            }
            catch (NotSupportedException ex)
            {
                failures.Add($"{setting}:Pattern uses a construct the linear-time engine does not support: {ex.Message}");
            }
        }

        if (rule.Validator is not null && !BuiltInDetectors.ValidatorNames.Contains(rule.Validator.Trim().ToLowerInvariant()))
        {
            failures.Add($"{setting}:Validator must be one of {string.Join(", ", BuiltInDetectors.ValidatorNames)} (was '{Pipeline.GatewayError.Printable(rule.Validator)}').");
        }

        if (!DataClassNames.TryParse(rule.DataClass, out _))
        {
            failures.Add($"{setting}:DataClass must be public, internal, confidential or restricted (was '{Pipeline.GatewayError.Printable(rule.DataClass ?? string.Empty)}').");
        }
    }

    private static void ValidateRules(DirectionRules rules, string setting, List<string> failures)
    {
        foreach (var (direction, map) in new[] { ("Arguments", rules.Arguments), ("Results", rules.Results) })
        {
            foreach (var (key, value) in map)
            {
                if (!MaskingActionNames.TryParse(value, out _))
                {
                    failures.Add($"{setting}:{direction}:{key} must be allow, mask, redact, hash, tokenize or block (was '{value}').");
                }
            }
        }
    }

    [GeneratedRegex("^[A-Z][A-Z0-9_]{0,39}$")]
    private static partial Regex EntityName();
}
