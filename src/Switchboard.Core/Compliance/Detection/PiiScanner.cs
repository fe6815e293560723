namespace Switchboard.Compliance.Detection;

/// <summary>
/// Runs every enabled detector over a text and returns non-overlapping findings in the original text's coordinates.
/// Overlaps are resolved leftmost first, then longest, then by detector priority (so <c>+86 139 1234 5678</c> is a
/// mainland mobile, not a generic phone, and an e-mail whose local part is a phone number is one e-mail).
/// </summary>
public sealed class PiiScanner
{
    public PiiScanner(IReadOnlyList<Detector> detectors)
    {
        ArgumentNullException.ThrowIfNull(detectors);
        Detectors = detectors;
    }

    public IReadOnlyList<Detector> Detectors { get; }

    /// <summary>Finds entities in <paramref name="text"/>; an empty list when there are none.</summary>
    public IReadOnlyList<Finding> Scan(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return [];
        }

        var normalized = TextNormalizer.Normalize(text, out var map);
        var hasDigit = normalized.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        List<Finding>? candidates = null;
        foreach (var detector in Detectors)
        {
            if (!detector.MayMatch(normalized, hasDigit))
            {
                continue;
            }

            candidates ??= [];
            detector.Collect(normalized, candidates);
        }

        if (candidates is null || candidates.Count == 0)
        {
            return [];
        }

        candidates.Sort(static (a, b) => a.Start != b.Start
            ? a.Start.CompareTo(b.Start)
            : a.Length != b.Length ? b.Length.CompareTo(a.Length) : 0);

        var chosen = new List<Finding>(candidates.Count);
        var end = 0;
        for (var i = 0; i < candidates.Count; i++)
        {
            var best = candidates[i];
            if (best.Start < end)
            {
                continue;
            }

            // Same start and same length: the higher-priority detector wins.
            for (var j = i + 1; j < candidates.Count && candidates[j].Start == best.Start && candidates[j].Length == best.Length; j++)
            {
                if (PriorityOf(candidates[j].EntityType) > PriorityOf(best.EntityType))
                {
                    best = candidates[j];
                }
            }

            var (start, length) = TextNormalizer.ToOriginal(map, best.Start, best.Length);
            chosen.Add(best with { Start = start, Length = length });
            end = best.Start + best.Length;
        }

        return chosen;
    }

    private int PriorityOf(string entityType)
    {
        foreach (var detector in Detectors)
        {
            if (detector.EntityType == entityType)
            {
                return detector.Priority;
            }
        }

        return 0;
    }
}
