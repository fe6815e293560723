using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;

namespace Switchboard.Compliance;

/// <summary>
/// Digests and masked summaries for audit records. The digest is a keyed HMAC of the payload's compact JSON (keyed, so
/// low-entropy values cannot be confirmed by hashing guesses); the summary is the start of that JSON with every
/// finding masked or redacted, whatever the policy allowed, then cut to <see cref="AuditOptions.SummaryLength"/>.
/// </summary>
public sealed class AuditSummarizer
{
    private static readonly DirectionRules s_summaryRules = new()
    {
        Results = new(StringComparer.OrdinalIgnoreCase) { ["secret"] = "redact", ["*"] = "mask" },
    };

    private readonly MaskingEngine _engine;
    private readonly ComplianceKeys _keys;
    private readonly int _length;

    public AuditSummarizer(PiiScanner scanner, ComplianceKeys keys, TokenVaultStore vaults, IOptions<ComplianceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _engine = new MaskingEngine(scanner, new MaskingPolicy(new ComplianceOptions { Policy = s_summaryRules }), keys, vaults);
        _keys = keys;
        _length = options.Value.Audit.SummaryLength;
    }

    public (string Digest, string Summary) Describe(JsonNode? payload)
    {
        var json = payload?.ToJsonString() ?? "null";
        return (_keys.Pseudonymizer.Digest(Encoding.UTF8.GetBytes(json)), Summarize(json));
    }

    /// <summary>Masks any text for a record (for example a tool name the caller made up).</summary>
    public string Summarize(string text)
    {
        // Only a window is scanned: the summary is short. The last characters of a cut window are dropped after masking,
        // so a value cut in half at the window's end (and so perhaps not recognised) never reaches the record.
        const int Margin = 256;
        const int Unsafe = 64;
        var cut = text.Length > _length + Margin;
        var window = cut ? text[..(_length + Margin)] : text;
        var masked = _engine.ApplyToText(window, [], new MaskingScope(null, null, MaskingDirection.Results, null, null), new MaskingReport(MaskingDirection.Results)) ?? window;
        if (cut)
        {
            masked = masked[..Math.Max(0, masked.Length - Unsafe)];
        }

        return masked.Length > _length ? masked[.._length] + "…" : cut ? masked + "…" : masked;
    }

    internal static JsonObject ToNode(IDictionary<string, JsonElement>? arguments)
    {
        var node = new JsonObject();
        if (arguments is null)
        {
            return node;
        }

        foreach (var (name, value) in arguments)
        {
            node[name] = JsonNode.Parse(value.GetRawText());
        }

        return node;
    }

    internal static Dictionary<string, JsonElement> FromNode(JsonObject node)
    {
        var arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, value) in node)
        {
            using var document = JsonDocument.Parse(value?.ToJsonString() ?? "null");
            arguments[name] = document.RootElement.Clone();
        }

        return arguments;
    }
}
