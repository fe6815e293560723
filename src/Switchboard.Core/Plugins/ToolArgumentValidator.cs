using System.Text.Json;

namespace Switchboard.Plugins;

/// <summary>
/// Checks tool arguments against the top level of the tool's input schema (required properties, JSON types, string
/// enums, <c>additionalProperties: false</c>) before an in-process tool runs, so a model that sends the wrong shape gets
/// a precise <c>isError</c> message it can correct. Messages name arguments and types, never argument values.
/// Linear in the number of arguments; nested schemas are left to the tool.
/// </summary>
internal static class ToolArgumentValidator
{
    public static bool TryValidate(JsonElement inputSchema, IDictionary<string, JsonElement>? arguments, out string problem)
    {
        problem = string.Empty;
        if (inputSchema.ValueKind != JsonValueKind.Object)
        {
            return true;
        }

        var hasProperties = inputSchema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object;
        if (inputSchema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray())
            {
                if (name.ValueKind == JsonValueKind.String && (arguments is null || !arguments.ContainsKey(name.GetString()!)))
                {
                    problem = $"missing required argument '{name.GetString()}'.";
                    return false;
                }
            }
        }

        if (arguments is null)
        {
            return true;
        }

        var closed = inputSchema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False;
        foreach (var (name, value) in arguments)
        {
            if (!hasProperties || !properties.TryGetProperty(name, out var propertySchema))
            {
                if (closed)
                {
                    problem = $"unexpected argument '{Truncate(name)}'; the tool does not accept it.";
                    return false;
                }

                continue;
            }

            if (!MatchesType(propertySchema, value, out var expected))
            {
                problem = $"argument '{name}' must be {expected}, but a {Describe(value.ValueKind)} was given.";
                return false;
            }

            if (!MatchesEnum(propertySchema, value))
            {
                problem = $"argument '{name}' must be one of the values listed in the tool's input schema.";
                return false;
            }
        }

        return true;
    }

    private static bool MatchesType(JsonElement schema, JsonElement value, out string expected)
    {
        expected = string.Empty;
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type))
        {
            return true;
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            expected = Article(type.GetString()!);
            return Matches(type.GetString()!, value);
        }

        if (type.ValueKind == JsonValueKind.Array)
        {
            var names = new List<string>();
            foreach (var option in type.EnumerateArray())
            {
                if (option.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                names.Add(option.GetString()!);
                if (Matches(option.GetString()!, value))
                {
                    return true;
                }
            }

            expected = string.Join(" or ", names.Select(Article));
            return names.Count == 0;
        }

        return true;
    }

    private static bool Matches(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && IsInteger(value),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };

    private static bool MatchesEnum(JsonElement schema, JsonElement value)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("enum", out var options) || options.ValueKind != JsonValueKind.Array)
        {
            return true;
        }

        foreach (var option in options.EnumerateArray())
        {
            if (JsonElement.DeepEquals(option, value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsInteger(JsonElement value)
        => value.TryGetInt64(out _) || (value.TryGetDouble(out var d) && Math.Floor(d) == d && !double.IsInfinity(d));

    private static string Article(string type) => type switch
    {
        "integer" or "array" or "object" => "an " + type,
        "null" => "null",
        _ => "a " + type,
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    private static string Truncate(string name) => name.Length <= 64 ? name : name[..64] + "...";
}
