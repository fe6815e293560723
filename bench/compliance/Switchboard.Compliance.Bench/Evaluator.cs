using System.Globalization;
using System.Text;
using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance.Bench;

/// <summary>Counts of one entity type: true positives, false positives, false negatives, and look-alike false positives.</summary>
internal sealed class EntityScore
{
    public int TruePositives { get; set; }

    public int FalsePositives { get; set; }

    public int FalseNegatives { get; set; }

    /// <summary>Findings on checksum-invalid look-alikes of this type (each is also a false positive).</summary>
    public int LookAlikeFalsePositives { get; set; }

    public int LookAlikes { get; set; }

    /// <summary>A few missed values and false findings, for looking into.</summary>
    public List<string> Examples { get; } = [];

    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : (double)TruePositives / (TruePositives + FalseNegatives);

    /// <summary>F-beta with beta 2: recall weighs four times as much as precision (a missed secret costs more than a false mask).</summary>
    public double F2 => Precision + Recall == 0 ? 0 : 5 * Precision * Recall / ((4 * Precision) + Recall);
}

/// <summary>
/// Scores a scanner against a labelled corpus. A finding counts as a true positive only when its entity type and span
/// match a label exactly; any other finding is a false positive of the type it reported; a label nothing matched is a
/// false negative of its type.
/// </summary>
internal static class Evaluator
{
    public static SortedDictionary<string, EntityScore> Score(PiiScanner scanner, IEnumerable<Sample> corpus)
    {
        var scores = new SortedDictionary<string, EntityScore>(StringComparer.Ordinal);
        EntityScore Of(string entity) => scores.TryGetValue(entity, out var score) ? score : scores[entity] = new EntityScore();

        foreach (var sample in corpus)
        {
            var findings = scanner.Scan(sample.Text);
            var matched = new HashSet<Label>();
            foreach (var finding in findings)
            {
                var label = sample.Labels.FirstOrDefault(l => l.Entity == finding.EntityType && l.Start == finding.Start && l.Length == finding.Length);
                if (label is not null && matched.Add(label))
                {
                    Of(label.Entity).TruePositives++;
                }
                else
                {
                    Of(finding.EntityType).FalsePositives++;
                    Note(Of(finding.EntityType), string.Concat("FP ", sample.Text.AsSpan(finding.Start, finding.Length)));
                    if (sample.LookAlikeOf is { } imitated)
                    {
                        Of(imitated).LookAlikeFalsePositives++;
                    }
                }
            }

            foreach (var label in sample.Labels.Where(l => !matched.Contains(l)))
            {
                Of(label.Entity).FalseNegatives++;
                Note(Of(label.Entity), string.Concat("FN ", sample.Text.AsSpan(label.Start, label.Length)));
            }

            if (sample.LookAlikeOf is { } lookAlike)
            {
                Of(lookAlike).LookAlikes++;
            }
        }

        return scores;
    }

    private static void Note(EntityScore score, string example)
    {
        if (score.Examples.Count < 5)
        {
            score.Examples.Add(example);
        }
    }

    public static EntityScore Total(IReadOnlyDictionary<string, EntityScore> scores) => new()
    {
        TruePositives = scores.Values.Sum(s => s.TruePositives),
        FalsePositives = scores.Values.Sum(s => s.FalsePositives),
        FalseNegatives = scores.Values.Sum(s => s.FalseNegatives),
        LookAlikeFalsePositives = scores.Values.Sum(s => s.LookAlikeFalsePositives),
        LookAlikes = scores.Values.Sum(s => s.LookAlikes),
    };

    /// <summary>A Markdown table of the scores.</summary>
    public static string Render(IReadOnlyDictionary<string, EntityScore> scores)
    {
        var text = new StringBuilder();
        text.AppendLine("| Entity | TP | FP | FN | Precision | Recall | F2 | Look-alike FP |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (entity, score) in scores)
        {
            Row(text, entity, score);
        }

        Row(text, "**all**", Total(scores));
        return text.ToString();
    }

    private static void Row(StringBuilder text, string entity, EntityScore score)
        => text.AppendLine(CultureInfo.InvariantCulture, $"| {entity} | {score.TruePositives} | {score.FalsePositives} | {score.FalseNegatives} | {score.Precision:0.0000} | {score.Recall:0.0000} | {score.F2:0.0000} | {(score.LookAlikes == 0 ? "-" : $"{score.LookAlikeFalsePositives}/{score.LookAlikes}")} |");
}
