using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Switchboard.Security;

/// <summary>
/// A declarative condition on a tool call's arguments, such as <c>amount &lt;= 100</c>,
/// <c>currency in ["EUR", "USD"]</c>, <c>customer.country == "FR"</c>, <c>note exists</c> or <c>path startsWith "/srv/"</c>.
/// Grammar: <c>path op value</c> | <c>path exists</c> | <c>path not exists</c>, where path is argument names joined by
/// dots, op is one of <c>== != &lt; &lt;= &gt; &gt;= in</c> <c>not in</c> <c>startsWith</c>, and value is a JSON number,
/// string (single or double quotes), <c>true</c>, <c>false</c>, <c>null</c> or a list of those. Parsed once when the policy
/// loads (an invalid rule stops the load); evaluated in time linear in the rule and the argument, with no regular
/// expressions. A missing argument or a value of another type makes a comparison false, so rules fail closed.
/// </summary>
public sealed class ArgumentRule
{
    private ArgumentRule(string text, string[] path, Operator op, JsonElement[] values)
    {
        Text = text;
        Path = path;
        Op = op;
        Values = values;
    }

    private enum Operator
    {
        Equal,
        NotEqual,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        In,
        NotIn,
        StartsWith,
        Exists,
        NotExists,
    }

    /// <summary>The rule as written.</summary>
    public string Text { get; }

    private string[] Path { get; }

    private Operator Op { get; }

    private JsonElement[] Values { get; }

    /// <summary>Parses a rule; returns false with a message naming the position of the problem.</summary>
    public static bool TryParse(string text, out ArgumentRule? rule, out string error)
    {
        rule = null;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 1000)
        {
            error = "a rule must be 1-1000 characters";
            return false;
        }

        var reader = new Reader(text);
        var path = new List<string>();
        do
        {
            reader.SkipSpaces();
            var identifier = reader.ReadIdentifier();
            if (identifier is null)
            {
                error = $"expected an argument name at position {reader.Position + 1}";
                return false;
            }

            path.Add(identifier);
        }
        while (reader.TryConsume("."));

        reader.SkipSpaces();
        Operator op;
        if (reader.TryConsumeWord("exists")) { op = Operator.Exists; }
        else if (reader.TryConsumeWord("not"))
        {
            reader.SkipSpaces();
            if (reader.TryConsumeWord("exists")) { op = Operator.NotExists; }
            else if (reader.TryConsumeWord("in")) { op = Operator.NotIn; }
            else
            {
                error = $"expected 'exists' or 'in' after 'not' at position {reader.Position + 1}";
                return false;
            }
        }
        else if (reader.TryConsumeWord("in")) { op = Operator.In; }
        else if (reader.TryConsumeWord("startsWith")) { op = Operator.StartsWith; }
        else if (reader.TryConsume("==")) { op = Operator.Equal; }
        else if (reader.TryConsume("!=")) { op = Operator.NotEqual; }
        else if (reader.TryConsume("<=")) { op = Operator.LessOrEqual; }
        else if (reader.TryConsume(">=")) { op = Operator.GreaterOrEqual; }
        else if (reader.TryConsume("<")) { op = Operator.Less; }
        else if (reader.TryConsume(">")) { op = Operator.Greater; }
        else
        {
            error = $"expected an operator (== != < <= > >= in, not in, startsWith, exists) at position {reader.Position + 1}";
            return false;
        }

        JsonElement[] values = [];
        if (op is not (Operator.Exists or Operator.NotExists))
        {
            reader.SkipSpaces();
            if (op is Operator.In or Operator.NotIn)
            {
                if (!reader.TryReadList(out values, out error))
                {
                    return false;
                }
            }
            else
            {
                if (!reader.TryReadScalar(out var value, out error))
                {
                    return false;
                }

                if (op is Operator.Less or Operator.LessOrEqual or Operator.Greater or Operator.GreaterOrEqual && value.ValueKind != JsonValueKind.Number)
                {
                    error = "<, <=, > and >= compare numbers";
                    return false;
                }

                if (op is Operator.StartsWith && value.ValueKind != JsonValueKind.String)
                {
                    error = "startsWith takes a string";
                    return false;
                }

                values = [value];
            }
        }

        reader.SkipSpaces();
        if (!reader.AtEnd)
        {
            error = $"unexpected text at position {reader.Position + 1}";
            return false;
        }

        rule = new ArgumentRule(text.Trim(), [.. path], op, values);
        return true;
    }

    /// <summary>True when the arguments satisfy the rule.</summary>
    public bool Evaluate(IDictionary<string, JsonElement>? arguments)
    {
        JsonElement? current = null;
        if (arguments is not null && arguments.TryGetValue(Path[0], out var root))
        {
            current = root;
            for (var i = 1; i < Path.Length && current is { } node; i++)
            {
                current = node.ValueKind == JsonValueKind.Object && node.TryGetProperty(Path[i], out var child) ? child : null;
            }
        }

        if (Op == Operator.Exists)
        {
            return current is not null;
        }

        if (Op == Operator.NotExists)
        {
            return current is null;
        }

        if (current is not { } actual)
        {
            return false;
        }

        return Op switch
        {
            Operator.Equal => ScalarEquals(actual, Values[0]),
            Operator.NotEqual => !ScalarEquals(actual, Values[0]),
            Operator.In => Values.Any(v => ScalarEquals(actual, v)),
            Operator.NotIn => !Values.Any(v => ScalarEquals(actual, v)),
            Operator.StartsWith => actual.ValueKind == JsonValueKind.String && actual.GetString()!.StartsWith(Values[0].GetString()!, StringComparison.Ordinal),
            _ => CompareNumbers(actual, Values[0]) is { } order && Op switch
            {
                Operator.Less => order < 0,
                Operator.LessOrEqual => order <= 0,
                Operator.Greater => order > 0,
                _ => order >= 0,
            },
        };
    }

    public override string ToString() => Text;

    private static bool ScalarEquals(JsonElement actual, JsonElement expected)
    {
        if (actual.ValueKind == JsonValueKind.Number && expected.ValueKind == JsonValueKind.Number)
        {
            return CompareNumbers(actual, expected) == 0;
        }

        return actual.ValueKind == expected.ValueKind && actual.ValueKind switch
        {
            JsonValueKind.String => string.Equals(actual.GetString(), expected.GetString(), StringComparison.Ordinal),
            JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => true,
            _ => false,
        };
    }

    private static int? CompareNumbers(JsonElement actual, JsonElement expected)
    {
        if (actual.ValueKind != JsonValueKind.Number || expected.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        if (actual.TryGetDecimal(out var a) && expected.TryGetDecimal(out var b))
        {
            return a.CompareTo(b);
        }

        return actual.GetDouble().CompareTo(expected.GetDouble());
    }

    /// <summary>A cursor over the rule text.</summary>
    private sealed class Reader(string text)
    {
        public int Position { get; private set; }

        public bool AtEnd => Position >= text.Length;

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(text[Position]))
            {
                Position++;
            }
        }

        public bool TryConsume(string token)
        {
            if (string.CompareOrdinal(text, Position, token, 0, token.Length) == 0)
            {
                Position += token.Length;
                return true;
            }

            return false;
        }

        public bool TryConsumeWord(string word)
        {
            var end = Position + word.Length;
            if (string.CompareOrdinal(text, Position, word, 0, word.Length) == 0 && (end >= text.Length || !IsIdentifierChar(text[end])))
            {
                Position = end;
                return true;
            }

            return false;
        }

        public string? ReadIdentifier()
        {
            var start = Position;
            if (AtEnd || !(char.IsAsciiLetter(text[Position]) || text[Position] == '_'))
            {
                return null;
            }

            while (!AtEnd && IsIdentifierChar(text[Position]))
            {
                Position++;
            }

            return text[start..Position];
        }

        public bool TryReadList(out JsonElement[] values, out string error)
        {
            values = [];
            error = string.Empty;
            if (!TryConsume("["))
            {
                error = $"expected '[' at position {Position + 1}";
                return false;
            }

            var items = new List<JsonElement>();
            SkipSpaces();
            if (!TryConsume("]"))
            {
                do
                {
                    SkipSpaces();
                    if (!TryReadScalar(out var value, out error))
                    {
                        return false;
                    }

                    items.Add(value);
                    SkipSpaces();
                }
                while (TryConsume(","));

                if (!TryConsume("]"))
                {
                    error = $"expected ',' or ']' at position {Position + 1}";
                    return false;
                }
            }

            values = [.. items];
            return true;
        }

        public bool TryReadScalar(out JsonElement value, out string error)
        {
            value = default;
            error = string.Empty;
            if (AtEnd)
            {
                error = "expected a value at the end of the rule";
                return false;
            }

            var c = text[Position];
            if (c is '"' or '\'')
            {
                var builder = new StringBuilder();
                Position++;
                while (!AtEnd && text[Position] != c)
                {
                    if (text[Position] == '\\' && Position + 1 < text.Length)
                    {
                        Position++;
                    }

                    builder.Append(text[Position]);
                    Position++;
                }

                if (!TryConsume(c.ToString()))
                {
                    error = "unterminated string";
                    return false;
                }

                value = JsonSerializer.SerializeToElement(builder.ToString(), Serialization.SwitchboardJsonContext.Default.String);
                return true;
            }

            if (TryConsumeWord("true")) { value = Literal("true"); return true; }
            if (TryConsumeWord("false")) { value = Literal("false"); return true; }
            if (TryConsumeWord("null")) { value = Literal("null"); return true; }

            var start = Position;
            while (!AtEnd && (char.IsAsciiDigit(text[Position]) || text[Position] is '-' or '+' or '.' or 'e' or 'E'))
            {
                Position++;
            }

            var number = text[start..Position];
            if (number.Length > 0 && double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
            {
                value = Literal(number);
                return true;
            }

            error = $"expected a number, string, true, false or null at position {start + 1}";
            return false;
        }

        private static JsonElement Literal(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }

        private static bool IsIdentifierChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
    }
}
