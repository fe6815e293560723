using System.Text.Json;

namespace Switchboard.Bench.Load;

/// <summary>
/// Judges answers without building a document: one forward pass of <see cref="Utf8JsonReader"/> over the message reads
/// the top-level <c>id</c>, <c>method</c>, <c>error</c> and <c>result</c>, and inside the result only <c>isError</c> and
/// the <c>text</c> of each content block. Nothing is allocated.
/// </summary>
internal static class ResponseValidator
{
    /// <summary>Judges one JSON-RPC message. <paramref name="isResponse"/> is false for notifications and server requests.</summary>
    public static CallCheck CheckJsonRpc(ReadOnlySpan<byte> json, long expectedId, ReadOnlySpan<byte> expectedText, out bool isResponse)
    {
        isResponse = true;
        if (!TryScan(json, expectedText, rootIsResult: false, out var scan))
        {
            return CallCheck.Malformed;
        }

        if (!scan.HasId && (scan.HasMethod || (!scan.HasResult && !scan.HasError)))
        {
            isResponse = false;
            return CallCheck.Malformed;
        }

        if (scan.HasMethod && !scan.HasResult && !scan.HasError)
        {
            // A request from the server to the client (it has an id and a method): not an answer.
            isResponse = false;
            return CallCheck.Malformed;
        }

        return Judge(scan, expectedId);
    }

    /// <summary>Reads the top-level numeric id of a message; false for notifications, server requests and unreadable messages.</summary>
    public static bool TryReadResponseId(ReadOnlySpan<byte> json, out long id)
    {
        id = 0;
        if (!TryScan(json, [], rootIsResult: false, out var scan) || scan.HasMethod || !scan.HasId || !scan.IdIsNumber)
        {
            return false;
        }

        id = scan.Id;
        return true;
    }

    /// <summary>Judges a <c>text/event-stream</c> body: the first <c>data:</c> event that is a JSON-RPC response decides.</summary>
    public static CallCheck CheckEventStream(ReadOnlySpan<byte> body, long expectedId, ReadOnlySpan<byte> expectedText)
    {
        while (!body.IsEmpty)
        {
            var end = body.IndexOf((byte)'\n');
            var line = end < 0 ? body : body[..end];
            body = end < 0 ? [] : body[(end + 1)..];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            line = line[5..];
            if (line.Length > 0 && line[0] == (byte)' ')
            {
                line = line[1..];
            }

            // An empty data field is a priming event (an event id to resume from, SEP-1699), not a message.
            if (line.IsEmpty)
            {
                continue;
            }

            var check = CheckJsonRpc(line, expectedId, expectedText, out var isResponse);
            if (isResponse)
            {
                return check;
            }
        }

        return CallCheck.Malformed;
    }

    /// <summary>Judges a body that is either an event stream or one JSON-RPC message, by its first bytes.</summary>
    public static CallCheck CheckMcpBody(ReadOnlySpan<byte> body, bool isEventStream, long expectedId, ReadOnlySpan<byte> expectedText)
    {
        if (isEventStream)
        {
            return CheckEventStream(body, expectedId, expectedText);
        }

        var check = CheckJsonRpc(body, expectedId, expectedText, out var isResponse);
        return isResponse ? check : CallCheck.Malformed;
    }

    /// <summary>Judges a REST answer: the body is the tool result itself.</summary>
    public static CallCheck CheckToolResult(ReadOnlySpan<byte> json, ReadOnlySpan<byte> expectedText)
    {
        if (!TryScan(json, expectedText, rootIsResult: true, out var scan))
        {
            return CallCheck.Malformed;
        }

        return scan.IsToolError ? CallCheck.ToolError : scan.TextMatched ? CallCheck.Ok : CallCheck.WrongContent;
    }

    private static CallCheck Judge(in MessageScan scan, long expectedId)
    {
        if (scan.HasError)
        {
            return CallCheck.JsonRpcError;
        }

        if (!scan.HasId || !scan.IdIsNumber || scan.Id != expectedId)
        {
            return CallCheck.WrongId;
        }

        if (!scan.HasResult)
        {
            return CallCheck.Malformed;
        }

        return scan.IsToolError ? CallCheck.ToolError : scan.TextMatched ? CallCheck.Ok : CallCheck.WrongContent;
    }

    private static bool TryScan(ReadOnlySpan<byte> json, ReadOnlySpan<byte> expectedText, bool rootIsResult, out MessageScan scan)
    {
        scan = default;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            if (rootIsResult)
            {
                ScanResult(ref reader, expectedText, ref scan);
                return true;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    scan.HasId = reader.TokenType != JsonTokenType.Null;
                    scan.IdIsNumber = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out scan.Id);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("method"u8))
                {
                    scan.HasMethod = true;
                    reader.Read();
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    scan.HasError = true;
                    reader.Read();
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("result"u8))
                {
                    scan.HasResult = true;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ScanResult(ref reader, expectedText, ref scan);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return reader.TokenType == JsonTokenType.EndObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>At the start of a tool result object: reads <c>isError</c> and the content blocks' <c>text</c>, up to the object's end.</summary>
    private static void ScanResult(ref Utf8JsonReader reader, ReadOnlySpan<byte> expectedText, ref MessageScan scan)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("isError"u8))
            {
                reader.Read();
                scan.IsToolError = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("text"u8))
                        {
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(expectedText))
                            {
                                scan.TextMatched = true;
                            }
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private struct MessageScan
    {
        public bool HasId;
        public bool IdIsNumber;
        public long Id;
        public bool HasMethod;
        public bool HasError;
        public bool HasResult;
        public bool IsToolError;
        public bool TextMatched;
    }
}
