using Switchboard.Hosting;
using Switchboard.Plugins;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins;

public class ToolCatalogBuilderTests
{
    private static readonly Dictionary<string, PluginSettings> s_noSettings = new(StringComparer.Ordinal);

    [Fact]
    public void Build_NamespacesAndSortsTools()
    {
        var sut = ToolCatalogBuilder.Build(
            [TestPlugins.Plugin("text", "word_count", "echo"), TestPlugins.Plugin("clock", "now")],
            new ToolOptions(),
            s_noSettings,
            version: 1);

        Assert.Equal(["clock_now", "text_echo", "text_word_count"], sut.Tools.Select(t => t.Name));
        Assert.True(sut.TryGetTool("text_echo", out var echo));
        Assert.Equal("echo", echo.LocalName);
        Assert.Equal("text_echo", echo.ProtocolTool.Name);
        Assert.Equal("text", echo.Plugin.Name);
    }

    [Fact]
    public void Build_DuplicatePluginName_FailsNamingBothSources()
    {
        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build(
            [TestPlugins.PluginFrom("text", "1.0.0", "assembly A", "echo"), TestPlugins.PluginFrom("text", "2.0.0", "assembly B", "echo")],
            new ToolOptions(),
            s_noSettings,
            1));

        Assert.Contains("assembly A", ex.Message, StringComparison.Ordinal);
        Assert.Contains("assembly B", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_AliasCollidingWithAnotherTool_FailsNamingBothSources()
    {
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["text"] = new() { Tools = { ["echo"] = new ToolSettings { Alias = "clock_now" } } },
        };

        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build(
            [TestPlugins.PluginFrom("clock", "1.0.0", "clock source", "now"), TestPlugins.PluginFrom("text", "1.0.0", "text source", "echo")],
            new ToolOptions(),
            settings,
            1));

        var problem = Assert.Single(ex.Problems);
        Assert.Contains("'clock_now'", problem, StringComparison.Ordinal);
        Assert.Contains("tool 'now' of plugin 'clock'", problem, StringComparison.Ordinal);
        Assert.Contains("tool 'echo' of plugin 'text'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_SanitizedNamesThatCollide_FailNamingBothTools()
    {
        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build(
            [TestPlugins.Plugin("files", "get.item", "get-item")],
            new ToolOptions(),
            s_noSettings,
            1));

        var problem = Assert.Single(ex.Problems);
        Assert.Contains("tool 'get.item'", problem, StringComparison.Ordinal);
        Assert.Contains("tool 'get-item'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_AliasResolvesACollision()
    {
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["files"] = new() { Tools = { ["get.item"] = new ToolSettings { Alias = "files_get_item_v1" } } },
        };

        var sut = ToolCatalogBuilder.Build([TestPlugins.Plugin("files", "get.item", "get-item")], new ToolOptions(), settings, 1);

        Assert.Equal(["files_get-item", "files_get_item_v1"], sut.Tools.Select(t => t.Name));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("dotted.name")]
    [InlineData("")]
    public void Build_InvalidAlias_Fails(string alias)
    {
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["text"] = new() { Tools = { ["echo"] = new ToolSettings { Alias = alias } } },
        };

        Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build([TestPlugins.Plugin("text", "echo")], new ToolOptions(), settings, 1));
    }

    [Fact]
    public void Build_SettingsForUnknownPluginOrTool_Fail()
    {
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["txt"] = new(),
            ["text"] = new() { Tools = { ["ehco"] = new ToolSettings { Timeout = TimeSpan.FromSeconds(1) } } },
        };

        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build([TestPlugins.Plugin("text", "echo")], new ToolOptions(), settings, 1));

        Assert.Equal(2, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.Contains("Switchboard:Plugins:txt", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.Contains("Switchboard:Plugins:text:Tools:ehco", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_InvalidPluginName_Fails()
    {
        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build([TestPlugins.Plugin("Bad_Name", "x")], new ToolOptions(), s_noSettings, 1));
        Assert.Contains("Bad_Name", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_DisabledPlugin_IsLeftOut()
    {
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal) { ["clock"] = new() { Enabled = false } };

        var sut = ToolCatalogBuilder.Build([TestPlugins.Plugin("clock", "now"), TestPlugins.Plugin("text", "echo")], new ToolOptions(), settings, 1);

        Assert.Equal(["text_echo"], sut.Tools.Select(t => t.Name));
        Assert.Equal(["text"], sut.Plugins.Select(p => p.Name));
    }

    [Fact]
    public void Build_TimeoutPrecedence_ToolThenPluginThenDescriptorThenDefault()
    {
        var plugin = TestPlugins.Plugin("text", "echo", "count", "other") with { DefaultTimeout = TimeSpan.FromSeconds(7) };
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["text"] = new() { Timeout = TimeSpan.FromSeconds(5), Tools = { ["echo"] = new ToolSettings { Timeout = TimeSpan.FromSeconds(2) } } },
        };

        var withSettings = ToolCatalogBuilder.Build([plugin], new ToolOptions { DefaultTimeout = TimeSpan.FromSeconds(60) }, settings, 1);
        var withoutSettings = ToolCatalogBuilder.Build([plugin], new ToolOptions { DefaultTimeout = TimeSpan.FromSeconds(60) }, s_noSettings, 1);
        var bare = ToolCatalogBuilder.Build([plugin with { DefaultTimeout = null }], new ToolOptions { DefaultTimeout = TimeSpan.FromSeconds(60) }, s_noSettings, 1);

        Assert.True(withSettings.TryGetTool("text_echo", out var echo));
        Assert.Equal(TimeSpan.FromSeconds(2), echo.Timeout);
        Assert.True(withSettings.TryGetTool("text_count", out var count));
        Assert.Equal(TimeSpan.FromSeconds(5), count.Timeout);
        Assert.True(withoutSettings.TryGetTool("text_count", out var fromDescriptor));
        Assert.Equal(TimeSpan.FromSeconds(7), fromDescriptor.Timeout);
        Assert.True(bare.TryGetTool("text_count", out var fromDefault));
        Assert.Equal(TimeSpan.FromSeconds(60), fromDefault.Timeout);
    }

    [Fact]
    public void Build_ExecutionAndOverrunBound_ComeFromThePluginUnlessConfigured()
    {
        var inline = TestPlugins.Plugin("text", "echo") with { Execution = ToolExecution.Inline };
        var pooled = TestPlugins.Plugin("clock", "now");
        var settings = new Dictionary<string, PluginSettings>(StringComparer.Ordinal)
        {
            ["clock"] = new() { Execution = ToolExecution.Inline, MaxOverrunningCalls = 3 },
        };

        var plain = ToolCatalogBuilder.Build([inline, pooled], new ToolOptions { MaxOverrunningCallsPerPlugin = 9 }, s_noSettings, 1);
        var configured = ToolCatalogBuilder.Build([inline with { }, pooled], new ToolOptions { MaxOverrunningCallsPerPlugin = 9 }, settings, 1);

        Assert.True(plain.TryGetTool("text_echo", out var echo));
        Assert.Equal((ToolExecution.Inline, 9), (echo.Execution, echo.MaxOverrunningCalls));
        Assert.True(plain.TryGetTool("clock_now", out var now));
        Assert.Equal((ToolExecution.ThreadPool, 9), (now.Execution, now.MaxOverrunningCalls));
        Assert.True(configured.TryGetTool("clock_now", out var configuredNow));
        Assert.Equal((ToolExecution.Inline, 3), (configuredNow.Execution, configuredNow.MaxOverrunningCalls));
        Assert.True(configured.TryGetTool("text_echo", out var configuredEcho));
        Assert.Equal((ToolExecution.Inline, 9), (configuredEcho.Execution, configuredEcho.MaxOverrunningCalls));
    }

    [Fact]
    public void Build_EmptyPrefix_ExposesOwnNames()
    {
        var plugin = TestPlugins.Plugin("conformance", "test_simple_text") with { ToolNamePrefix = string.Empty };
        var sut = ToolCatalogBuilder.Build([plugin], new ToolOptions(), s_noSettings, 1);
        Assert.Equal(["test_simple_text"], sut.Tools.Select(t => t.Name));
    }

    [Fact]
    public void Build_ReportsEveryProblemAtOnce()
    {
        var ex = Assert.Throws<PluginConfigurationException>(() => ToolCatalogBuilder.Build(
            [TestPlugins.Plugin("Bad", "x"), TestPlugins.Plugin("files", "a.b", "a-b")],
            new ToolOptions(),
            new Dictionary<string, PluginSettings>(StringComparer.Ordinal) { ["ghost"] = new() },
            1));

        Assert.Equal(3, ex.Problems.Count);
    }
}
