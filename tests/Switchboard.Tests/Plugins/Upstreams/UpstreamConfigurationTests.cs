using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Hosting.Cli;
using Switchboard.Plugins.Upstreams;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>Upstream settings are checked at start (every problem listed, exit code 2) and secrets resolve without leaking.</summary>
public sealed class UpstreamConfigurationTests
{
    private const string UnsetVariable = "SWITCHBOARD_TEST_SURELY_UNSET_VARIABLE";
    private const string SetVariable = "SWITCHBOARD_TEST_UPSTREAM_SECRET_SET";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    static UpstreamConfigurationTests() => Environment.SetEnvironmentVariable(SetVariable, "s3cr3t-from-env");

    [Fact]
    public void Validate_ListsEveryProblem_NamingSettingsVariablesAndFiles_ButNeverValues()
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Switchboard:Upstreams:bad:Comand"] = "node",
            ["Switchboard:Upstreams:bad:Start"] = "Sometimes",
            ["Switchboard:Upstreams:bad:Timeout"] = "soon",
            ["Switchboard:Upstreams:bad:CircuitBreaker:FailureRate"] = "0.5",
            ["Switchboard:Upstreams:web:Version"] = "1.0.0",
            ["Switchboard:Upstreams:web:Url"] = "https://user:pw@example.test/mcp",
            ["Switchboard:Upstreams:web:Headers:Host"] = "evil.test",
            ["Switchboard:Upstreams:web:Headers:Authorization"] = $"Bearer literal-part-never-shown {{env:{UnsetVariable}}}",
            ["Switchboard:Upstreams:web:Headers:X-Key"] = "{file:/nonexistent/switchboard/secret}",
            ["Switchboard:Upstreams:proc:Version"] = "1.0.0",
            ["Switchboard:Upstreams:proc:Command"] = "surely-not-a-command-on-path",
            ["Switchboard:Upstreams:proc:Arguments:0"] = "--token={env:HOME}",
            ["Switchboard:Upstreams:proc:Url"] = "http://127.0.0.1:1/mcp",
            ["Switchboard:Upstreams:proc:Transport"] = "Stdio",
            ["Switchboard:Upstreams:proc:MaxConcurrency"] = "0",
            ["Switchboard:Upstreams:proc:CircuitBreaker:BreakDuration"] = "00:00:00.100",
            ["Switchboard:Upstreams:Not_Valid:Version"] = "1.0.0",
            ["Switchboard:Upstreams:Not_Valid:Command"] = "node",
        };

        var problems = Validate(configuration);

        Assert.Contains("Switchboard:Upstreams:bad:Comand is not a known upstream setting.", problems);
        Assert.Contains("Switchboard:Upstreams:bad:Start must be Lazy or Eager.", problems);
        Assert.Contains("Switchboard:Upstreams:bad:Timeout must be a duration such as 00:00:30.", problems);
        Assert.Contains("Switchboard:Upstreams:bad:CircuitBreaker:FailureRate is not a known upstream setting.", problems);
        Assert.Contains("Switchboard:Upstreams:web:Url must not carry credentials; put them in Headers with a secret reference.", problems);
        Assert.Contains("Switchboard:Upstreams:web:Headers:Host is set by the gateway itself and cannot be configured.", problems);
        Assert.Contains($"Switchboard:Upstreams:web:Headers:Authorization refers to environment variable '{UnsetVariable}', which is not set.", problems);
        Assert.Contains("Switchboard:Upstreams:web:Headers:X-Key refers to file '/nonexistent/switchboard/secret', which does not exist.", problems);
        Assert.Contains("Switchboard:Upstreams:proc:Command 'surely-not-a-command-on-path' was not found on PATH.", problems);
        Assert.Contains(problems, p => p.StartsWith("Switchboard:Upstreams:proc:Arguments:0 holds a secret reference", StringComparison.Ordinal));
        Assert.Contains("Switchboard:Upstreams:proc is a stdio upstream: Url and Headers apply only to HTTP upstreams.", problems);
        Assert.Contains("Switchboard:Upstreams:proc:MaxConcurrency must be between 1 and 1000.", problems);
        Assert.Contains("Switchboard:Upstreams:proc:CircuitBreaker:BreakDuration must be between 0.5 seconds and one day.", problems);
        Assert.Contains(problems, p => p.StartsWith("Switchboard:Upstreams:Not_Valid: the upstream name is its plugin name", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("literal-part-never-shown", StringComparison.Ordinal) || p.Contains("pw@", StringComparison.Ordinal) || p.Contains("evil.test", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_AcceptsAWellFormedStdioAndHttpUpstream()
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Switchboard:Upstreams:local:Version"] = "1.0.0",
            ["Switchboard:Upstreams:local:Command"] = "sh",
            ["Switchboard:Upstreams:local:Arguments:0"] = "-c",
            ["Switchboard:Upstreams:local:Environment:TOKEN"] = $"{{env:{SetVariable}}}",
            ["Switchboard:Upstreams:local:Start"] = "eager",
            ["Switchboard:Upstreams:local:IdleTimeout"] = "00:10:00",
            ["Switchboard:Upstreams:remote:Version"] = "2.0.0",
            ["Switchboard:Upstreams:remote:Transport"] = "Http",
            ["Switchboard:Upstreams:remote:Url"] = "https://mcp.example.test/mcp",
            ["Switchboard:Upstreams:remote:Headers:Authorization"] = $"Bearer {{env:{SetVariable}}}",
            ["Switchboard:Upstreams:remote:CircuitBreaker:MinimumThroughput"] = "10",
        };

        Assert.Empty(Validate(configuration));
    }

    [Fact]
    public async Task Serve_WithInvalidUpstreamSettings_RefusesToStartWithExitCode2()
    {
        using var data = new TemporaryDirectory();
        var settings = new ServeSettings
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = data.Path,
            ConfigurationOverrides = new Dictionary<string, string?>
            {
                ["Switchboard:Upstreams:broken:Version"] = "1.0.0",
                ["Switchboard:Upstreams:broken:Url"] = "not a url",
            },
        };

        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = SwitchboardServer.Build(settings);
            await app.StartAsync(Token);
        });
        Assert.Contains("Switchboard:Upstreams:broken:Url must be an absolute http:// or https:// address.", HostRunner.DescribeStartupFailure(failure), StringComparison.Ordinal);
        Assert.Equal(2, await ServeCommand.RunAsync(settings, configure: null, Token));
    }

    [Fact]
    public void Secrets_ResolveFromTheEnvironmentAndFiles_InsideLongerValues()
    {
        using var folder = new TemporaryDirectory();
        var file = Path.Combine(folder.Path, "key");
        File.WriteAllText(file, "from-file\n");

        Assert.True(UpstreamSecrets.TryResolve($"Bearer {{env:{SetVariable}}} and {{file:{file}}}.", "setting", out var resolved, out var problem));
        Assert.Null(problem);
        Assert.Equal("Bearer s3cr3t-from-env and from-file.", resolved);
        Assert.True(UpstreamSecrets.TryResolve("plain value", "setting", out var plain, out _));
        Assert.Equal("plain value", plain);
    }

    [Fact]
    public void Secrets_MissingVariableOrFile_IsAProblemNamingIt_WithoutAnyValue()
    {
        Assert.False(UpstreamSecrets.TryResolve($"keep-this-private {{env:{UnsetVariable}}}", "Switchboard:Upstreams:x:Headers:A", out _, out var problem));
        Assert.Equal($"Switchboard:Upstreams:x:Headers:A refers to environment variable '{UnsetVariable}', which is not set.", problem);

        Assert.False(UpstreamSecrets.TryResolve("{file:/nonexistent/x}", "Switchboard:Upstreams:x:Environment:B", out _, out var fileProblem));
        Assert.StartsWith("Switchboard:Upstreams:x:Environment:B refers to file '/nonexistent/x', which cannot be read", fileProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Mark_KeepsTheUpstreamsDefinition_AddsTheUpstreamToMeta_AndFlagsUnavailability()
    {
        var tool = TestPlugins.Tool("echo", """{"type":"object","properties":{"text":{"type":"string"}}}""");
        tool.Description = "Echoes.";
        tool.Meta = new System.Text.Json.Nodes.JsonObject { ["vendor/key"] = "kept" };

        var up = UpstreamPluginSource.Mark(tool, "box", new UpstreamStatus(true, null, null));
        var down = UpstreamPluginSource.Mark(tool, "box", new UpstreamStatus(false, "it stopped unexpectedly (the process exited with code 1) and is being restarted", DateTimeOffset.UnixEpoch));

        Assert.Equal("Echoes.", up.Description);
        Assert.Equal("kept", up.Meta!["vendor/key"]!.GetValue<string>());
        Assert.True(up.Meta["switchboard/upstream"]!["available"]!.GetValue<bool>());
        Assert.Equal(
            "[Unavailable: upstream server 'box' is down; it stopped unexpectedly (the process exited with code 1) and is being restarted.] Echoes.",
            down.Description);
        Assert.False(down.Meta!["switchboard/upstream"]!["available"]!.GetValue<bool>());
        Assert.Equal("1970-01-01T00:00:00.0000000+00:00", down.Meta["switchboard/upstream"]!["retryAt"]!.GetValue<string>());
        Assert.Equal(tool.InputSchema.GetRawText(), down.InputSchema.GetRawText());
        Assert.Null(tool.Meta["switchboard/upstream"]);
    }

    private static List<string> Validate(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = new UpstreamsOptions();
        try
        {
            configuration.GetSection("Switchboard").Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            options.BindingError = ex.Message;
        }

        var result = new UpstreamOptionsValidator(configuration).Validate(Options.DefaultName, options);
        return result.Succeeded ? [] : [.. result.Failures!];
    }
}
