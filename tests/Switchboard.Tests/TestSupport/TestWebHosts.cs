using Microsoft.AspNetCore.Builder;

namespace Switchboard.Tests.TestSupport;

/// <summary>Builders for the small stand-in web servers tests start beside Switchboard.</summary>
internal static class TestWebHosts
{
    /// <summary>
    /// A slim builder without the default appsettings reload: that would put a recursive inotify watcher on the working
    /// folder for every stand-in server, and the kernel allows a user only 128 inotify instances across all processes.
    /// </summary>
    public static WebApplicationBuilder CreateSlimBuilder()
        => WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
}
