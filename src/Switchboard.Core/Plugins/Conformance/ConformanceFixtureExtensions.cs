using Switchboard.Hosting;

namespace Switchboard.Plugins.Conformance;

public static class ConformanceFixtureExtensions
{
    /// <summary>Adds the MCP conformance-suite fixtures (enabled only by <c>serve --conformance-fixtures</c>).</summary>
    public static ISwitchboardBuilder AddConformanceFixtures(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }
}
