using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance.Masking;

/// <summary>
/// Applies the policy to a JSON payload in place: every string and every number (an id sent as a JSON number is still
/// an id) is scanned; object keys are not. A masked number becomes a string, because its masked form is not a number.
/// Base64 payloads of image, audio and blob contents are skipped.
/// </summary>
public sealed class MaskingEngine(PiiScanner scanner, MaskingPolicy policy, ComplianceKeys keys, TokenVaultStore vaults)
{
    private static readonly Regex s_token = BuiltInDetectors.Compile(@"\u00AB[A-Z][A-Z0-9_]*_[0-9]+\u00BB");

    public PiiScanner Scanner => scanner;

    public MaskingPolicy Policy => policy;

    /// <summary>Masks <paramref name="root"/> in place (its children; the root itself must be an object or array).</summary>
    public MaskingReport Apply(JsonNode root, MaskingScope scope)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(scope);
        var report = new MaskingReport(scope.Direction);
        var path = new List<string>(8);
        Visit(root, path, scope, report);
        return report;
    }

    /// <summary>Masks one string (used for plain text); returns null when nothing changed.</summary>
    public string? ApplyToText(string text, IReadOnlyList<string> path, MaskingScope scope, MaskingReport report)
        => Process(text, path, scope, report);

    private JsonValue? Visit(JsonNode? node, List<string> path, MaskingScope scope, MaskingReport report)
    {
        switch (node)
        {
            case JsonObject obj:
            {
                var binary = obj["type"] is JsonValue type && type.TryGetValue<string>(out var kind) && kind is "image" or "audio";
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if ((binary && key == "data") || key == "blob")
                    {
                        continue;
                    }

                    path.Add(key);
                    var replacement = Visit(obj[key], path, scope, report);
                    path.RemoveAt(path.Count - 1);
                    if (replacement is not null)
                    {
                        obj[key] = replacement;
                    }
                }

                return null;
            }

            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var replacement = Visit(array[i], path, scope, report);
                    if (replacement is not null)
                    {
                        array[i] = replacement;
                    }
                }

                return null;

            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                    {
                        var edited = Process(value.GetValue<string>(), path, scope, report);
                        return edited is null ? null : JsonValue.Create(edited);
                    }

                    case JsonValueKind.Number:
                    {
                        // The raw token text: never round-trip a 19-digit id through double.
                        var edited = Process(value.ToJsonString(), path, scope, report);
                        return edited is null ? null : JsonValue.Create(edited);
                    }

                    default:
                        return null;
                }

            default:
                return null;
        }
    }

    private string? Process(string text, IReadOnlyList<string> path, MaskingScope scope, MaskingReport report)
    {
        var findings = scanner.Scan(text);
        var resolveTokens = scope.Direction == MaskingDirection.Arguments && text.Contains('\u00AB', StringComparison.Ordinal);
        if (findings.Count == 0 && !resolveTokens)
        {
            return null;
        }

        List<(int Start, int Length, string Replacement)>? edits = null;
        string? field = null;
        foreach (var finding in findings)
        {
            field ??= string.Join('.', path);
            var action = policy.Resolve(scope.Plugin, scope.Tool, path, scope.Direction, finding);
            var original = text.Substring(finding.Start, finding.Length);
            var replacement = Render(action, finding, original, scope, report);
            report.Record(finding, action, field);
            if (replacement is not null)
            {
                (edits ??= []).Add((finding.Start, finding.Length, replacement));
            }
        }

        if (resolveTokens)
        {
            foreach (var match in s_token.EnumerateMatches(text))
            {
                var token = text.Substring(match.Index, match.Length);
                var original = scope.ConversationId is null ? null : vaults.Resolve(scope.ConversationId, token);
                if (original is null)
                {
                    report.TokensUnresolved++;
                    continue;
                }

                // The plugin gets the original only where it could have received the raw value itself.
                var entity = token[1..token.LastIndexOf('_')];
                var described = Describe(entity);
                var action = policy.Resolve(scope.Plugin, scope.Tool, path, MaskingDirection.Arguments, described);
                if (action is MaskingAction.Allow or MaskingAction.Tokenize)
                {
                    report.TokensResolved++;
                    (edits ??= []).Add((match.Index, match.Length, original));
                }
                else
                {
                    report.TokensUnresolved++;
                }
            }
        }

        if (edits is null)
        {
            return null;
        }

        edits.Sort(static (a, b) => a.Start.CompareTo(b.Start));
        var builder = new StringBuilder(text.Length);
        var position = 0;
        foreach (var (start, length, replacement) in edits)
        {
            builder.Append(text, position, start - position).Append(replacement);
            position = start + length;
        }

        builder.Append(text, position, text.Length - position);
        report.Changed = true;
        return builder.ToString();
    }

    private string? Render(MaskingAction action, in Finding finding, string original, MaskingScope scope, MaskingReport report)
    {
        switch (action)
        {
            case MaskingAction.Allow:
                return null;
            case MaskingAction.Mask:
                return PartialMask(finding, original);
            case MaskingAction.Hash:
                return $"[{finding.EntityType}:{keys.Pseudonymizer.Pseudonym(scope.Tenant, finding.EntityType, TextNormalizer.Normalize(original, out _))}]";
            case MaskingAction.Tokenize when scope.Direction == MaskingDirection.Arguments:
                // Arguments carry originals to the plugin; tokens sent back by the caller are resolved separately.
                return null;
            case MaskingAction.Tokenize:
                if (scope.ConversationId is null)
                {
                    report.TokenizeFallbacks++;
                    return Redacted(finding);
                }

                return vaults.Tokenize(scope.ConversationId, finding.EntityType, original) ?? Redacted(finding);
            default:
                // Redact, and Block (the whole payload is refused; the value is removed from it all the same).
                return Redacted(finding);
        }
    }

    private static string Redacted(in Finding finding) => "[" + finding.EntityType + "]";

    /// <summary>
    /// Partial masks: e-mail keeps the first character and the domain; secrets keep their first four characters; other
    /// values keep the first three and last four letters or digits when long (the first two and last two when
    /// medium), with separators left in place.
    /// </summary>
    internal static string PartialMask(in Finding finding, string original)
    {
        if (finding.EntityType == BuiltInDetectors.Email)
        {
            var at = original.IndexOf('@', StringComparison.Ordinal);
            return original[..1] + "***" + original[at..];
        }

        if (finding.Category == EntityCategory.Secret)
        {
            return original[..Math.Min(4, original.Length)] + "****";
        }

        var significant = 0;
        foreach (var c in original)
        {
            if (char.IsLetterOrDigit(c))
            {
                significant++;
            }
        }

        var (keepStart, keepEnd) = significant >= 11 ? (3, 4) : significant >= 7 ? (2, 2) : (0, 0);
        var chars = original.ToCharArray();
        var index = 0;
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsLetterOrDigit(chars[i]))
            {
                continue;
            }

            if (index >= keepStart && index < significant - keepEnd)
            {
                chars[i] = '*';
            }

            index++;
        }

        return new string(chars);
    }

    private Finding Describe(string entityType)
    {
        foreach (var detector in scanner.Detectors)
        {
            if (detector.EntityType == entityType)
            {
                return new Finding(0, 0, entityType, detector.Class, detector.Category);
            }
        }

        return new Finding(0, 0, entityType, DataClass.Confidential, EntityCategory.Pii);
    }
}
