using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;
using Switchboard.Tests.Transports.Stdio;

namespace Switchboard.Tests.Security;

/// <summary><c>switchboard stdio</c> has no tokens: it runs as the configured local principal, under the same policy.</summary>
public sealed class StdioPrincipalTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stdio_RunsAsTheConfiguredLocalPrincipal_WithItsScopesOnly()
    {
        using var data = new TemporaryDirectory();
        await using var server = StdioServerProcess.Start(
            ["stdio", "--data", data.Path],
            new Dictionary<string, string?> { ["Switchboard__Security__StdioPrincipal__Scopes"] = "tools:clock/* tools:text/word_count" });
        await server.InitializeAsync(Token);

        var list = await server.RequestAsync("tools/list", null, Token);
        var allowed = await server.RequestAsync("tools/call", new JsonObject { ["name"] = "text_word_count", ["arguments"] = new JsonObject { ["text"] = "a b" } }, Token);
        var refused = await server.RequestAsync("tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "a" } }, Token);

        Assert.Equal(["clock_convert", "clock_now", "text_word_count"], list["result"]!["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Null(allowed["error"]);
        Assert.NotEqual(true, allowed["result"]!["isError"]?.GetValue<bool>());
        Assert.Equal(-32003, refused["error"]!["code"]!.GetValue<int>());
        Assert.Contains("tools:text/echo", refused["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
