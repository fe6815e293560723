using Switchboard.Hosting;

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
            Http = { MaxRequestBodyBytes = 10, AllowedOrigins = ["not an origin"] },
            Tools = { DefaultTimeout = TimeSpan.Zero, MaxNameLength = 100, ListPageSize = 0 },
            Plugins = { ["text"] = new PluginSettings { Timeout = TimeSpan.FromHours(2), Tools = { ["echo"] = new ToolSettings { Timeout = TimeSpan.FromSeconds(-1) } } } },
        };

        var failures = Failures(options);

        foreach (var setting in new[]
        {
            "Switchboard:DataDirectory", "Switchboard:ServerName", "Switchboard:Http:MaxRequestBodyBytes", "Switchboard:Http:AllowedOrigins",
            "Switchboard:Tools:DefaultTimeout", "Switchboard:Tools:MaxNameLength", "Switchboard:Tools:ListPageSize",
            "Switchboard:Plugins:text:Timeout", "Switchboard:Plugins:text:Tools:echo:Timeout",
        })
        {
            Assert.Contains(failures, f => f.Contains(setting, StringComparison.Ordinal));
        }
    }
}
