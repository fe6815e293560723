using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Hosting;

/// <summary>The real <c>switchboard</c> executable, started as a user starts it.</summary>
public sealed class ServeCommandTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serve_PrintsTheMcpUrlAndClaudeLine_ServesAndStopsCleanlyOnSigterm()
    {
        await using var process = await SwitchboardProcess.StartServeAsync(cancellationToken: Token);
        using var http = new HttpClient { BaseAddress = process.BaseUri };

        Assert.Matches(@"^http://127\.0\.0\.1:\d+/mcp$", process.McpUri.ToString());
        Assert.Contains($"claude mcp add --transport http switchboard {process.McpUri}", process.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("clock 1.0.0 (2 tools), conversation 1.0.0 (1 tool), orders 1.0.0 (3 tools), support 1.0.0 (4 tools), text 1.0.0 (2 tools)", process.StandardOutput, StringComparison.Ordinal);
        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), Token))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var echo = await McpHttp.SendAsync(http, McpHttp.ModernRequest(process.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "over a real process" } }), Token);
        Assert.Equal("over a real process", echo.Result["content"]![0]!["text"]!.GetValue<string>());

        var exitCode = await process.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.Contains("Switchboard stopped.", process.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// The container image's command: a wildcard bind with authentication on. Reached through a published port the client
    /// sends a loopback Host, which must be served; a foreign Host (DNS rebinding) is still refused.
    /// </summary>
    [Fact]
    public async Task Serve_OnAWildcardAddress_AnswersLoopbackHostNames_AndRefusesOthers()
    {
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(["serve", "--urls", "http://0.0.0.0:0", "--data", data.Path]);
        var port = (await process.WaitUntilServingAsync(Token)).Port;
        await using var issue = SwitchboardProcess.Start(["token", "issue", "--data", data.Path, "--sub", "container-user", "--scope", "tools:text/*"]);
        Assert.Equal(0, await issue.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var token = issue.StandardOutput.Trim();
        using var http = new HttpClient();

        async Task<HttpStatusCode> EchoAsync(string host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{port}/v1/tools/text_echo/call"))
            {
                Content = JsonContent.Create(new JsonObject { ["text"] = "through the published port" }),
            };
            request.Headers.Host = host;
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, Token);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await EchoAsync($"localhost:{port}"));
        Assert.Equal(HttpStatusCode.OK, await EchoAsync("127.0.0.1:9000"));
        Assert.Equal(HttpStatusCode.BadRequest, await EchoAsync($"rebound.example.com:{port}"));
    }

    /// <summary>
    /// The container image sets its listen address and data folder in the environment, so a token issued with the image
    /// into a new volume, before the server ever ran there, carries the issuer and audience the server will have. The
    /// wildcard bind names no reachable address, so that identity, the banner and the discovery document say localhost.
    /// </summary>
    [Fact]
    public async Task Serve_AsTheImageRunsIt_AcceptsATokenIssuedBeforeTheFirstStart_AndNamesLocalhost()
    {
        using var data = new TemporaryDirectory();
        var port = LoopbackPort.Free();

        var environment = new Dictionary<string, string?>
        {
            ["Switchboard__Urls"] = $"http://0.0.0.0:{port}",
            ["Switchboard__DataDirectory"] = data.Path,
        };
        await using var issue = SwitchboardProcess.Start(["token", "issue", "--sub", "container-user", "--scope", "tools:text/*"], environment);
        Assert.Equal(0, await issue.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var token = issue.StandardOutput.Trim();

        await using var process = SwitchboardProcess.Start(["serve"], environment);
        var mcpUrl = await process.WaitUntilServingAsync(Token);
        Assert.Equal($"http://localhost:{port}/mcp", mcpUrl.ToString());
        Assert.Contains($"claude mcp add --transport http switchboard http://localhost:{port}/mcp", process.StandardOutput, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var metadata = await http.GetAsync(new Uri("/.well-known/oauth-protected-resource/mcp", UriKind.Relative), Token);
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        var resource = (await metadata.Content.ReadFromJsonAsync<JsonObject>(Token))!["resource"]!.GetValue<string>();
        Assert.Equal($"http://localhost:{port}/mcp", resource);

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/tools/text_echo/call", UriKind.Relative))
        {
            Content = JsonContent.Create(new JsonObject { ["text"] = "issued before the first start" }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("issued before the first start", await response.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_CreatesTheDataFolderAndDatabaseOnFirstRun()
    {
        using var root = new TemporaryDirectory();
        var data = Path.Combine(root.Path, "nested", "data");
        await using var process = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data]);
        await process.WaitUntilServingAsync(Token);

        Assert.True(File.Exists(Path.Combine(data, "switchboard.db")));
        Assert.Contains(Path.Combine(data, "switchboard.db"), process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://+:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://192.168.1.10:8080")]
    [InlineData("http://example.com:8080")]
    [InlineData("http://127.0.0.1:0;http://[::]:0")]
    public async Task ServeWithoutAuthentication_NonLoopbackAddress_IsRefusedWithAClearMessage(string urls)
    {
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(["serve", "--no-auth", "--urls", urls, "--data", data.Path]);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("only", process.StandardError, StringComparison.Ordinal);
        Assert.Contains("listens on loopback", process.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data.Path, "switchboard.db")));
    }

    [Fact]
    public async Task Serve_MissingConfigFile_IsRefused()
    {
        using var data = new TemporaryDirectory();
        var missing = Path.Combine(data.Path, "nope.json");
        await using var process = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path, "--config", missing]);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(missing, process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ConfigFileIsRead_AndEnvironmentVariablesOverrideIt()
    {
        using var data = new TemporaryDirectory();
        var config = Path.Combine(data.Path, "switchboard.json");
        await File.WriteAllTextAsync(config, """
            {
              "Switchboard": {
                "Tools": { "ListPageSize": 2 },
                "Plugins": { "text": { "Tools": { "echo": { "Alias": "say" } } } }
              }
            }
            """, Token);

        await using var process = SwitchboardProcess.Start(
            ["serve", "--no-auth", "--urls", "http://127.0.0.1:0", "--data", data.Path, "--config", config],
            new Dictionary<string, string?> { ["Switchboard__Plugins__text__Tools__echo__Alias"] = "shout" });
        await process.WaitUntilServingAsync(Token);
        using var http = new HttpClient { BaseAddress = process.BaseUri };

        var names = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await McpHttp.SendAsync(http, McpHttp.ModernRequest(process.McpUri, "tools/list", cursor is null ? null : new JsonObject { ["cursor"] = cursor }), Token);
            var tools = page.Result["tools"]!.AsArray();
            Assert.True(tools.Count <= 2);
            names.AddRange(tools.Select(t => t!["name"]!.GetValue<string>()));
            cursor = page.Result["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal((names.Count + 1) / 2, pages);
        Assert.True(pages > 1);
        Assert.Contains("shout", names);
        Assert.DoesNotContain("say", names);
        Assert.DoesNotContain("text_echo", names);
    }

    [Fact]
    public async Task Serve_ToolNameCollision_FailsStartNamingBothSources()
    {
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(
            ["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path],
            new Dictionary<string, string?> { ["Switchboard__Plugins__text__Tools__echo__Alias"] = "clock_now" });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("tool 'now' of plugin 'clock'", process.StandardError, StringComparison.Ordinal);
        Assert.Contains("tool 'echo' of plugin 'text'", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_InvalidOption_FailsStartNamingTheSetting()
    {
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(
            ["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path],
            new Dictionary<string, string?> { ["Switchboard__Tools__ListPageSize"] = "0" });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Switchboard:Tools:ListPageSize", process.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Switchboard__Tools__DefaultTimeout", "not-a-timespan", "Switchboard:Tools:DefaultTimeout")]
    [InlineData("Switchboard__Http__MaxRequestBodyBytes", "lots", "Switchboard:Http:MaxRequestBodyBytes")]
    public async Task Serve_ValueOfTheWrongType_FailsStartNamingTheSetting(string variable, string value, string setting)
    {
        using var data = new TemporaryDirectory();
        await using var process = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path], new Dictionary<string, string?> { [variable] = value });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(setting, process.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_MalformedConfigFile_FailsStartWithoutAStackTrace()
    {
        using var data = new TemporaryDirectory();
        var config = Path.Combine(data.Path, "broken.json");
        await File.WriteAllTextAsync(config, "{ \"Switchboard\": { ", Token);
        await using var process = SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path, "--config", config]);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("not valid JSON", process.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortInUse_FailsWithAClearMessage()
    {
        await using var first = await SwitchboardProcess.StartServeAsync(cancellationToken: Token);
        using var data = new TemporaryDirectory();
        await using var second = SwitchboardProcess.Start(["serve", "--urls", $"http://127.0.0.1:{first.McpUri.Port}", "--data", data.Path]);

        Assert.Equal(2, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("address already in use", second.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Help_ListsServeAndItsOptions()
    {
        var root = await ProcessRunner.RunAsync(SwitchboardProcess.ExecutablePath, ["--help"], cancellationToken: Token);
        var serve = await ProcessRunner.RunAsync(SwitchboardProcess.ExecutablePath, ["serve", "--help"], cancellationToken: Token);

        Assert.Equal(0, root.ExitCode);
        Assert.Contains("serve", root.StandardOutput, StringComparison.Ordinal);
        foreach (var option in new[] { "--urls", "--data", "--config", "--conformance-fixtures" })
        {
            Assert.Contains(option, serve.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task UnknownFlag_IsAUsageError()
    {
        var result = await ProcessRunner.RunAsync(SwitchboardProcess.ExecutablePath, ["serve", "--no-such-flag"], cancellationToken: Token);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--no-such-flag", result.Combined, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_StartedInAFolderWithManySubfolders_PutsNoFileWatchOnThem()
    {
        // Started from a home folder or a repository, a recursive watcher on the working folder walks every subfolder
        // before readiness and holds one inotify watch each (the kernel's per-user limit is shared by every process).
        using var root = new TemporaryDirectory();
        for (var i = 0; i < 60; i++)
        {
            Directory.CreateDirectory(Path.Combine(root.Path, "work", $"project-{i}", "src", "nested"));
        }

        await using var process = SwitchboardProcess.Start(
            ["serve", "--no-auth", "--urls", "http://127.0.0.1:0", "--data", Path.Combine(root.Path, "data")],
            workingDirectory: root.Path);
        await process.WaitUntilServingAsync(Token);

        Assert.Equal(0, InotifyWatches(process.Id));
        Assert.Equal(0, await process.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The inotify watches a process holds, read from <c>/proc/PID/fdinfo</c> (one <c>inotify wd:</c> line each).</summary>
    private static int InotifyWatches(int pid)
    {
        var count = 0;
        foreach (var file in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            try
            {
                count += File.ReadLines(file).Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                // The descriptor was closed while we read the folder.
            }
        }

        return count;
    }
}
