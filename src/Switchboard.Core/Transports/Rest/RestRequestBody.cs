using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Switchboard.Transports.Rest;

/// <summary>
/// Reads the body of <c>POST /v1/tools/{name}/call</c>: the tool arguments as one JSON object. An empty body means no
/// arguments (<c>{}</c>). Anything else that is not a JSON object is refused before the pipeline runs, as a value.
/// The body-size limit is Kestrel's: an oversized body throws <see cref="BadHttpRequestException"/> (413) while it is
/// read, which the HTTP guard turns into the response.
/// </summary>
internal static class RestRequestBody
{
    private static readonly JsonDocumentOptions s_documentOptions = new()
    {
        // One name, one value: a repeated property could be read one way by a masking or policy stage and another
        // way by the tool.
        AllowDuplicateProperties = false,
        MaxDepth = 64,
    };

    public static async ValueTask<RestArguments> ReadArgumentsAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var contentType = request.ContentType;
        if (contentType is not null && !IsJsonContentType(contentType))
        {
            return RestArguments.Fail(new RestProblem(
                StatusCodes.Status415UnsupportedMediaType,
                "unsupported_media_type",
                "The request body must be JSON: send Content-Type: application/json (UTF-8)."));
        }

        if (request.ContentLength == 0)
        {
            return RestArguments.Empty;
        }

        var reader = request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(cancellationToken);
            if (read.IsCompleted || read.IsCanceled)
            {
                break;
            }

            // Leave everything unconsumed until the whole body has arrived.
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        try
        {
            return Parse(read.Buffer, contentType is null);
        }
        finally
        {
            reader.AdvanceTo(read.Buffer.End);
        }
    }

    /// <summary>Parses a complete body. Element values are cloned: they must outlive the request buffer.</summary>
    internal static RestArguments Parse(ReadOnlySequence<byte> body, bool contentTypeMissing)
    {
        if (IsWhiteSpace(body))
        {
            return RestArguments.Empty;
        }

        if (contentTypeMissing)
        {
            return RestArguments.Fail(new RestProblem(
                StatusCodes.Status415UnsupportedMediaType,
                "unsupported_media_type",
                "The request has a body but no Content-Type: send Content-Type: application/json."));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, s_documentOptions);
        }
        catch (JsonException ex)
        {
            // The parser's own message can quote the offending input; only its position is passed on.
            return RestArguments.Fail(new RestProblem(
                StatusCodes.Status400BadRequest,
                "invalid_json",
                $"The request body is not valid JSON, or repeats a property name (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})."));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return RestArguments.Fail(new RestProblem(
                    StatusCodes.Status400BadRequest,
                    "invalid_body",
                    $"The request body must be a JSON object of tool arguments (or empty), not {Describe(root.ValueKind)}."));
            }

            var arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }

            return RestArguments.Ok(arguments);
        }
    }

    internal static bool IsJsonContentType(string contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            return false;
        }

        var isJson = mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

        // JSON is UTF-8 (RFC 8259); a body declared in another charset would be misread.
        var charset = parsed.Charset.Value?.Trim('"');
        return isJson && (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }

    private static bool IsWhiteSpace(ReadOnlySequence<byte> body)
    {
        foreach (var segment in body)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r\n"u8) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "this value",
    };
}

/// <summary>The tool arguments read from a REST request, or the problem that stopped the read.</summary>
internal readonly record struct RestArguments(Dictionary<string, JsonElement>? Arguments, RestProblem? Problem)
{
    public static RestArguments Empty => new(new Dictionary<string, JsonElement>(StringComparer.Ordinal), null);

    public static RestArguments Ok(Dictionary<string, JsonElement> arguments) => new(arguments, null);

    public static RestArguments Fail(RestProblem problem) => new(null, problem);
}
