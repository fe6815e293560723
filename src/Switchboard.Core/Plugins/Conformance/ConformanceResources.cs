using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins.Conformance;

/// <summary>
/// The conformance resources: <c>test://static-text</c>, <c>test://static-binary</c>, <c>test://watched-resource</c>
/// and the template <c>test://template/{id}/data</c>. Served by SDK handlers directly, since resources are not
/// gateway-managed yet. The contents never change, so list results are cacheable by anyone and reads by the caller.
/// </summary>
internal static class ConformanceResources
{
    public const string StaticText = "test://static-text";
    public const string StaticBinary = "test://static-binary";
    public const string Watched = "test://watched-resource";
    public const string Template = "test://template/{id}/data";

    private const string TemplatePrefix = "test://template/";
    private const string TemplateSuffix = "/data";

    private static readonly TimeSpan s_listTtl = TimeSpan.FromMinutes(5);

    private static readonly Resource[] s_resources =
    [
        new() { Uri = StaticText, Name = "static-text", Title = "Static Text Resource", Description = "A static text resource for testing", MimeType = "text/plain" },
        new() { Uri = StaticBinary, Name = "static-binary", Title = "Static Binary Resource", Description = "A static binary resource (image) for testing", MimeType = "image/png" },
        new() { Uri = Watched, Name = "watched-resource", Title = "Watched Resource", Description = "A subscribable resource (its content does not change)", MimeType = "text/plain" },
    ];

    private static readonly ResourceTemplate[] s_templates =
    [
        new() { UriTemplate = Template, Name = "template", Title = "Resource Template", Description = "A resource template with parameter substitution", MimeType = "application/json" },
    ];

    public static ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken cancellationToken)
        => ValueTask.FromResult(new ListResourcesResult { Resources = [.. s_resources], TimeToLive = s_listTtl, CacheScope = CacheScope.Public });

    public static ValueTask<ListResourceTemplatesResult> ListTemplatesAsync(RequestContext<ListResourceTemplatesRequestParams> request, CancellationToken cancellationToken)
        => ValueTask.FromResult(new ListResourceTemplatesResult { ResourceTemplates = [.. s_templates], TimeToLive = s_listTtl, CacheScope = CacheScope.Public });

    public static ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.Params?.Uri ?? string.Empty;
        ResourceContents contents = uri switch
        {
            StaticText => new TextResourceContents { Uri = uri, MimeType = "text/plain", Text = "This is the content of the static text resource." },
            StaticBinary => new BlobResourceContents { Uri = uri, MimeType = "image/png", Blob = Encoding.UTF8.GetBytes(ConformanceTools.PngBase64) },
            Watched => new TextResourceContents { Uri = uri, MimeType = "text/plain", Text = "Watched resource content" },
            _ when TryMatchTemplate(uri, out var id) => new TextResourceContents
            {
                Uri = uri,
                MimeType = "application/json",
                Text = new JsonObject { ["id"] = id, ["templateTest"] = true, ["data"] = $"Data for ID: {id}" }.ToJsonString(),
            },
            _ => throw NotFound(request, uri),
        };

        return ValueTask.FromResult(new ReadResourceResult { Contents = [contents], TimeToLive = s_listTtl, CacheScope = CacheScope.Private });
    }

    /// <summary>
    /// Accepts a subscription to any resource this server has. The contents never change, so no
    /// <c>notifications/resources/updated</c> ever follows; nothing needs remembering per session.
    /// </summary>
    public static ValueTask<EmptyResult> SubscribeAsync(RequestContext<SubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.Params?.Uri ?? string.Empty;
        return Exists(uri) ? ValueTask.FromResult(new EmptyResult()) : throw NotFound(request, uri);
    }

    public static ValueTask<EmptyResult> UnsubscribeAsync(RequestContext<UnsubscribeRequestParams> request, CancellationToken cancellationToken)
        => ValueTask.FromResult(new EmptyResult());

    /// <summary>Completion values for the template's <c>id</c> variable.</summary>
    public static IEnumerable<string> CompleteTemplateArgument(string? templateUri, string argument)
        => templateUri == Template && argument == "id" ? ["1", "2", "3", "123"] : [];

    private static bool Exists(string uri) => uri is StaticText or StaticBinary or Watched || TryMatchTemplate(uri, out _);

    private static bool TryMatchTemplate(string uri, out string id)
    {
        id = string.Empty;
        if (!uri.StartsWith(TemplatePrefix, StringComparison.Ordinal) || !uri.EndsWith(TemplateSuffix, StringComparison.Ordinal)
            || uri.Length <= TemplatePrefix.Length + TemplateSuffix.Length)
        {
            return false;
        }

        id = uri[TemplatePrefix.Length..^TemplateSuffix.Length];
        return !id.Contains('/', StringComparison.Ordinal);
    }

    /// <summary>
    /// SEP-2164: an unknown URI is invalid params (-32602) from 2026-07-28 on, resource-not-found (-32002) before; either
    /// way the error names the URI in <c>data.uri</c> so the client can tell which read failed.
    /// </summary>
    private static McpProtocolException NotFound<TParams>(RequestContext<TParams> request, string uri)
    {
        var code = ProtocolEra.IsModern(request) ? McpErrorCode.InvalidParams : McpErrorCode.ResourceNotFound;
        var error = new McpProtocolException($"Resource not found: '{uri}'.", code);
        error.Data["uri"] = JsonSerializer.SerializeToElement(uri, McpJsonUtilities.DefaultOptions.GetTypeInfo<string>());
        return error;
    }
}
