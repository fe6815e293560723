using System.Net;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Transports.Rest;

/// <summary>The OpenAPI document at /openapi/v1.json and the reference UI at /scalar/v1.</summary>
public sealed class RestOpenApiTests
{
    [Fact]
    public async Task OpenApiDocument_ParsesWithoutErrors_AndDescribesTheRestApi()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await RestHttp.GetAsync(http, "/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.StartsWith("3.1", response.Body["openapi"]!.GetValue<string>(), StringComparison.Ordinal);

        var read = OpenApiDocument.Parse(response.Text, "json");
        Assert.Empty(read.Diagnostic?.Errors ?? []);
        var document = Assert.IsType<OpenApiDocument>(read.Document);
        var paths = document.Paths;

        var list = paths["/v1/tools"].Operations![HttpMethod.Get];
        Assert.Equal("listTools", list.OperationId);
        Assert.Contains(list.Parameters!, p => p.Name == "cursor" && p.In == ParameterLocation.Query);
        Assert.Equal(["200", "400", "500", "503"], list.Responses!.Keys.Order(StringComparer.Ordinal));

        var call = paths["/v1/tools/{name}/call"].Operations![HttpMethod.Post];
        Assert.Equal("callTool", call.OperationId);
        Assert.Contains(call.Parameters!, p => p.Name == "name" && p.In == ParameterLocation.Path && p.Required);
        Assert.Contains("application/problem+json", call.Responses!["404"].Content!.Keys);
        Assert.Contains("application/problem+json", call.Responses!["415"].Content!.Keys);
        Assert.Contains("application/problem+json", call.Responses!["413"].Content!.Keys);
        Assert.Contains("application/problem+json", call.Responses!["429"].Content!.Keys);

        // Only the REST API is described: not /mcp, /metrics or the probes.
        Assert.All(paths.Keys, path => Assert.StartsWith("/v1/", path, StringComparison.Ordinal));
        Assert.True(document.Components!.Schemas!.ContainsKey("ProblemDetails"));
        Assert.True(document.Components.Schemas.ContainsKey("CallToolResult"));
    }

    [Fact]
    public async Task OpenApiDocument_HasATypedOperationPerTool()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        var response = await RestHttp.GetAsync(http, "/openapi/v1.json");
        var paths = response.Body["paths"]!.AsObject();

        foreach (var tool in new[] { "clock_convert", "clock_now", "text_echo", "text_word_count" })
        {
            Assert.True(paths.ContainsKey($"/v1/tools/{tool}/call"), $"operation for {tool}");
        }

        var echo = paths["/v1/tools/text_echo/call"]!["post"]!;
        Assert.Equal("call_text_echo", echo["operationId"]!.GetValue<string>());
        Assert.Equal("Returns the given text unchanged.", echo["description"]!.GetValue<string>());
        var schema = echo["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.Equal("string", schema["properties"]!["text"]!["type"]!.GetValue<string>());
        Assert.Contains("text", schema["required"]!.AsArray().Select(r => r!.GetValue<string>()));

        // A tool with an output schema documents its structuredContent.
        var wordCount = paths["/v1/tools/text_word_count/call"]!["post"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;
        var structured = wordCount["allOf"]!.AsArray().Select(s => s!["properties"]?["structuredContent"]).Single(s => s is not null)!;
        Assert.Equal("integer", structured["properties"]!["words"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenApiDocument_FollowsTheLiveCatalog()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        var catalog = server.GetRequiredService<ToolCatalog>();
        var before = await RestHttp.GetAsync(http, "/openapi/v1.json");
        Assert.True(before.Body["paths"]!.AsObject().ContainsKey("/v1/tools/text_echo/call"));

        var current = catalog.Current;
        catalog.Publish(new CatalogSnapshot(current.Tools.Where(t => t.Name != "text_echo"), current.Plugins, catalog.NextVersion));

        var after = await RestHttp.GetAsync(http, "/openapi/v1.json");
        var paths = after.Body["paths"]!.AsObject();
        Assert.False(paths.ContainsKey("/v1/tools/text_echo/call"));
        Assert.True(paths.ContainsKey("/v1/tools/text_word_count/call"));
        Assert.True(paths.ContainsKey("/v1/tools/{name}/call"));

        // The endpoints follow the same snapshot.
        var list = await RestHttp.GetAsync(http, "/v1/tools");
        Assert.DoesNotContain("text_echo", list.Body["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        RestHttp.AssertProblem(await RestHttp.CallAsync(http, "text_echo", """{"text":"x"}"""), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ReferenceUi_IsServedFromThisServer()
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();

        using var page = await http.GetAsync(new Uri("/scalar/v1", UriKind.Relative), TestContext.Current.CancellationToken);
        var html = await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Switchboard REST API", html, StringComparison.Ordinal);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);

        // The UI script is served locally, not from a CDN.
        using var script = await http.GetAsync(new Uri("/scalar/scalar.js", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Theory]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar/v1")]
    public async Task DocumentAndUi_PassTheHostGuard(string path)
    {
        await using var server = await SwitchboardTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = server.CreateHttpClient();
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Host = "rebound.example.com";

        var response = await RestHttp.SendAsync(http, request);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.DoesNotContain("openapi", response.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ToolSchemaWithReferences_FallsBackToAGenericObject()
    {
        var document = new OpenApiDocument();
        using var schema = System.Text.Json.JsonDocument.Parse("""{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}}""");
        var fallback = Switchboard.Transports.Rest.RestOpenApiSchemas.AnyObject("fallback");

        var converted = Switchboard.Transports.Rest.RestOpenApiSchemas.FromToolSchema(schema.RootElement, document, fallback);
        using var plain = System.Text.Json.JsonDocument.Parse("""{"type":"object","properties":{"p":{"type":"string","enum":["a","b"]}},"required":["p"]}""");
        var direct = Switchboard.Transports.Rest.RestOpenApiSchemas.FromToolSchema(plain.RootElement, document, fallback);

        Assert.Same(fallback, converted);
        Assert.NotSame(fallback, direct);
        Assert.Equal(JsonSchemaType.String, direct.Properties!["p"].Type);
        Assert.Equal(["a", "b"], direct.Properties["p"].Enum!.Select(v => v.GetValue<string>()));
        Assert.Contains("p", direct.Required!);
    }
}
