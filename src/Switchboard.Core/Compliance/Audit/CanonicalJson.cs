using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Compliance.Audit;

/// <summary>
/// The canonical form of an audit record, which is what gets hashed: UTF-8 JSON without whitespace, object members
/// sorted by ordinal (UTF-16 code unit) order of their names, integers only, strings escaped by System.Text.Json's
/// relaxed encoder: <c>"</c>, <c>\</c>, control characters and unpaired surrogates, and also characters outside the
/// Basic Multilingual Plane, which it writes as a <c>\uXXXX\uXXXX</c> surrogate pair (RFC 8785 would write those raw).
/// Otherwise this follows RFC 8785 (JCS) for the values records contain; records never carry floating-point numbers.
/// The bytes are what every stored hash was computed over: never change them.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false, SkipValidation = false };

    // The audit writer serialises every record on one thread; a buffer and writer per thread save two allocations a record.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] Serialize(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, s_options);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
        {
            Write(writer, node);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            // A failed record must not leave a half-written writer (or a large buffer) for the next one.
            writer.Reset(buffer);
            if (buffer.Capacity > 64 * 1024)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    /// <summary>True when <paramref name="text"/> is exactly the canonical form of the JSON it holds (never throws).</summary>
    public static bool IsCanonical(string text, out JsonObject? parsed)
    {
        parsed = null;
        try
        {
            parsed = JsonNode.Parse(text) as JsonObject;
            return parsed is not null && System.Text.Encoding.UTF8.GetString(Serialize(parsed)) == text;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            // Not JSON, or JSON no record can hold (a fraction, an exponent).
            parsed = null;
            return false;
        }
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
                var members = ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Rent(obj.Count);
                try
                {
                    var count = 0;
                    foreach (var member in obj)
                    {
                        members[count++] = member;
                    }

                    members.AsSpan(0, count).Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
                    for (var i = 0; i < count; i++)
                    {
                        writer.WritePropertyName(members[i].Key);
                        Write(writer, members[i].Value);
                    }
                }
                finally
                {
                    ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Return(members, clearArray: true);
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
