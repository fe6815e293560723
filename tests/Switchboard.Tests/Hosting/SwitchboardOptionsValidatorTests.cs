using Switchboard.Hosting;
using Switchboard.Plugins;

namespace Switchboard.Tests.Hosting;

public class SwitchboardOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(SwitchboardOptions options)
        => new SwitchboardOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Defaults_AreValid() => Assert.Empty(Failures(new SwitchboardOptions()));

    [Fact]
    public void EveryBadValue_IsReportedWithItsSettingName()
    {
        var options = new SwitchboardOptions
        {
            DataDirectory = " ",
            ServerName = "bad name",
            IdleCompactionQuietPeriod = TimeSpan.FromMilliseconds(10),
            Http = { MaxRequestBodyBytes = 10, AllowedOrigins = ["not an origin"] },
            Tools = { DefaultTimeout = TimeSpan.Zero, MaxNameLength = 100, ListPageSize = 0, MaxOverrunningCallsPerPlugin = 0 },
            Plugins = { ["text"] = new PluginSettings { Timeout = TimeSpan.FromHours(2), MaxOverrunningCalls = -1, Execution = (ToolExecution)7, Tools = { ["echo"] = new ToolSettings { Timeout = TimeSpan.FromSeconds(-1) } } } },
        };

        var failures = Failures(options);

        foreach (var setting in new[]
        {
            "Switchboard:DataDirectory", "Switchboard:ServerName", "Switchboard:IdleCompactionQuietPeriod", "Switchboard:Http:MaxRequestBodyBytes", "Switchboard:Http:AllowedOrigins",
            "Switchboard:Tools:DefaultTimeout", "Switchboard:Tools:MaxNameLength", "Switchboard:Tools:ListPageSize",
            "Switchboard:Tools:MaxOverrunningCallsPerPlugin", "Switchboard:Plugins:text:MaxOverrunningCalls", "Switchboard:Plugins:text:Execution",
            "Switchboard:Plugins:text:Timeout", "Switchboard:Plugins:text:Tools:echo:Timeout",
        })
        {
            Assert.Contains(failures, f => f.Contains(setting, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(true, null, true)]
    [InlineData(true, "false", false)]
    [InlineData(false, null, false)]
    [InlineData(false, "true", true)]
    public void CompactHeapWhenIdle_IsOnForTheExecutable_OffForEmbeddingHosts_AndConfigurable(bool ownsProcess, string? configured, bool expected)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        SwitchboardServer.ConfigureConfiguration(configuration, new ServeSettings
        {
            OwnsProcess = ownsProcess,
            ConfigurationOverrides = configured is null ? null : new Dictionary<string, string?> { ["Switchboard:CompactHeapWhenIdle"] = configured },
        });

        var options = new SwitchboardOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration.GetSection(SwitchboardOptions.SectionName), options);

        Assert.Equal(expected, options.CompactHeapWhenIdle);
    }
}
