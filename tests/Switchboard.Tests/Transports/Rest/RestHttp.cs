using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.Transports.Rest;

/// <summary>A REST response read whole: status, media type, raw text and (when it is JSON) the parsed body.</summary>
public sealed record RestResponse(HttpStatusCode Status, string? MediaType, string Text, JsonNode? Json, HttpResponseHeaders Headers, IReadOnlyCollection<string> Allow)
{
    public JsonObject Body => Assert.IsType<JsonObject>(Json);
}

/// <summary>Sends raw REST requests, so tests control every header and byte.</summary>
public static class RestHttp
{
    public static Task<RestResponse> GetAsync(HttpClient http, string path)
        => SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative)));

    public static Task<RestResponse> CallAsync(HttpClient http, string tool, string? body, string? contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v1/tools/{tool}/call", UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        return SendAsync(http, request);
    }

    public static async Task<RestResponse> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            JsonNode? json = null;
            if (mediaType is "application/json" or "application/problem+json")
            {
                json = JsonNode.Parse(text);
            }

            return new RestResponse(response.StatusCode, mediaType, text, json, response.Headers, [.. response.Content.Headers.Allow]);
        }
    }

    /// <summary>
    /// Asserts an RFC 9457 problem: <c>application/problem+json</c> with <c>type</c> (an absolute URI), <c>title</c>,
    /// <c>status</c> equal to the HTTP status and a <c>detail</c>; returns the detail.
    /// </summary>
    public static string AssertProblem(RestResponse response, HttpStatusCode expected, string? code = null)
    {
        Assert.Equal(expected, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        var problem = response.Body;
        Assert.True(Uri.TryCreate(problem["type"]!.GetValue<string>(), UriKind.Absolute, out _), "type is an absolute URI");
        Assert.False(string.IsNullOrWhiteSpace(problem["title"]!.GetValue<string>()));
        Assert.Equal((int)expected, problem["status"]!.GetValue<int>());
        var detail = problem["detail"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        if (code is not null)
        {
            Assert.Equal(code, problem["code"]!.GetValue<string>());
        }

        AssertNoLeaks(response.Text);
        return detail;
    }

    /// <summary>No stack traces or exception type names in what the caller sees.</summary>
    public static void AssertNoLeaks(string text)
    {
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain(".cs:line", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }

    /// <summary>The text of the first content block of a tool result.</summary>
    public static string FirstText(JsonObject result) => result["content"]![0]!["text"]!.GetValue<string>();
}
