using System.Text.RegularExpressions;

namespace Switchboard.Compliance.Detection;

/// <summary>Checks a candidate match; returns how many of its leading characters are accepted (0 rejects it).</summary>
internal delegate int CandidateValidator(ReadOnlySpan<char> candidate);

/// <summary>Which characters may not touch a match, so that a match is never the middle of a longer token.</summary>
internal enum MatchBoundary
{
    /// <summary>No check (the pattern's own shape delimits it).</summary>
    None,

    /// <summary>No ASCII letter or digit directly before or after.</summary>
    AlphaNumeric,

    /// <summary>No digit directly before or after (letters may touch: <c>tel:13800138000</c>).</summary>
    Digit,
}

/// <summary>One found entity: where it is in the scanned text and what it is.</summary>
public readonly record struct Finding(int Start, int Length, string EntityType, DataClass Class, EntityCategory Category);

/// <summary>
/// One recogniser: a linear-time pattern (<see cref="RegexOptions.NonBacktracking"/>) that proposes candidates, a
/// boundary rule, and a validator for formats that carry a checksum or fixed rules. Cheap prefilters skip the regex
/// when the text cannot contain a match (no digit, no '@', none of the literal prefixes). The pattern is built on first
/// use: building non-backtracking patterns is the most expensive part of start-up, so the server starts without it and
/// the detector warm-up (or the first text that passes the prefilters) builds it.
/// </summary>
public sealed class Detector
{
    private readonly Lazy<Regex> _pattern;

    internal Detector(
        string entityType,
        DataClass dataClass,
        EntityCategory category,
        Lazy<Regex> pattern,
        MatchBoundary boundary,
        CandidateValidator? validator,
        int priority,
        bool needsDigit = false,
        char requiredChar = '\0',
        string[]? requiredLiterals = null,
        string? validatorName = null)
    {
        EntityType = entityType;
        Class = dataClass;
        Category = category;
        _pattern = pattern;
        Boundary = boundary;
        Validator = validator;
        Priority = priority;
        NeedsDigit = needsDigit;
        RequiredChar = requiredChar;
        RequiredLiterals = requiredLiterals;
        ValidatorName = validatorName ?? (validator is null ? "none" : "built-in");
    }

    /// <summary>The entity type name used in policies, placeholders and audit counts (e.g. <c>EMAIL</c>).</summary>
    public string EntityType { get; }

    public DataClass Class { get; }

    public EntityCategory Category { get; }

    /// <summary>Breaks ties between overlapping matches of the same length (higher wins).</summary>
    public int Priority { get; }

    /// <summary>What checks candidates, for <c>switchboard policy show</c>.</summary>
    public string ValidatorName { get; }

    internal Regex Pattern => _pattern.Value;

    /// <summary>Whether the pattern has been compiled yet (start-up must not compile any).</summary>
    internal bool PatternBuilt => _pattern.IsValueCreated;

    internal MatchBoundary Boundary { get; }

    internal CandidateValidator? Validator { get; }

    internal bool NeedsDigit { get; }

    internal char RequiredChar { get; }

    internal string[]? RequiredLiterals { get; }

    /// <summary>The same detector with another data class (configuration can re-class a detector).</summary>
    internal Detector WithClass(DataClass dataClass)
        => new(EntityType, dataClass, Category, _pattern, Boundary, Validator, Priority, NeedsDigit, RequiredChar, RequiredLiterals, ValidatorName);

    internal bool MayMatch(string text, bool hasDigit)
    {
        if (NeedsDigit && !hasDigit)
        {
            return false;
        }

        if (RequiredChar != '\0' && !text.Contains(RequiredChar, StringComparison.Ordinal))
        {
            return false;
        }

        if (RequiredLiterals is { } literals)
        {
            foreach (var literal in literals)
            {
                if (text.Contains(literal, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        return true;
    }

    internal void Collect(string text, List<Finding> findings)
    {
        foreach (var match in Pattern.EnumerateMatches(text))
        {
            var start = match.Index;
            var length = match.Length;
            if (length == 0 || !BoundaryHolds(text, start - 1))
            {
                continue;
            }

            if (Validator is not null)
            {
                length = Validator(text.AsSpan(start, length));
                if (length <= 0)
                {
                    continue;
                }
            }

            if (!BoundaryHolds(text, start + length))
            {
                continue;
            }

            findings.Add(new Finding(start, length, EntityType, Class, Category));
        }
    }

    private bool BoundaryHolds(string text, int index)
    {
        if (index < 0 || index >= text.Length)
        {
            return true;
        }

        var c = text[index];
        return Boundary switch
        {
            MatchBoundary.AlphaNumeric => !char.IsAsciiLetterOrDigit(c),
            MatchBoundary.Digit => !char.IsAsciiDigit(c),
            _ => true,
        };
    }
}
