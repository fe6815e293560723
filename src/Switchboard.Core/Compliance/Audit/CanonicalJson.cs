using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// The canonical form of an audit record, which is what gets hashed: UTF-8 JSON without whitespace, object members
/// sorted by ordinal (UTF-16 code unit) order of their names, integers only, strings escaped by System.Text.Json's
/// relaxed encoder (only <c>"</c>, <c>\</c> and control characters and unpaired surrogates are escaped). This follows
/// RFC 8785 (JCS) for the values records contain; records never carry floating-point numbers.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false, SkipValidation = false };

    public static byte[] Serialize(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, s_options))
        {
            Write(writer, node);
        }

        return stream.ToArray();
    }

    /// <summary>True when <paramref name="text"/> is exactly the canonical form of the JSON it holds.</summary>
    public static bool IsCanonical(string text, out JsonObject? parsed)
    {
        parsed = null;
        try
        {
            parsed = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }

        return parsed is not null && System.Text.Encoding.UTF8.GetString(Serialize(parsed)) == text;
    }

    /// <summary>Records hold integers only; anything else (a fraction, an exponent) is not canonical.</summary>
    private static long Integer(JsonValue value)
    {
        if (value.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (value.TryGetValue<int>(out var i))
        {
            return i;
        }

        if (value.TryGetValue<JsonElement>(out var element) && element.TryGetInt64(out var parsed) && element.GetRawText() == parsed.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return parsed;
        }

        throw new FormatException("Audit records hold integers only.");
    }

    private static void Write(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        writer.WriteStringValue(value.GetValue<string>());
                        break;
                    case JsonValueKind.Number:
                        writer.WriteNumberValue(Integer(value));
                        break;
                    case JsonValueKind.True:
                        writer.WriteBooleanValue(true);
                        break;
                    case JsonValueKind.False:
                        writer.WriteBooleanValue(false);
                        break;
                    default:
                        writer.WriteNullValue();
                        break;
                }

                break;
        }
    }
}
