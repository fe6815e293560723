using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Switchboard.Transports.Mcp;

namespace Switchboard.Tests.TestSupport;

/// <summary>
/// Counts the <c>notifications/tools/list_changed</c> an SDK client receives over a 2025-11-25 Streamable HTTP session.
/// The SDK client opens its background GET stream after <c>initialize</c>, and the SDK server drops unsolicited
/// notifications until that stream is attached; <see cref="WaitForStreamAsync"/> waits for it by sending trial
/// notifications until one arrives, so a change made afterwards cannot be lost to that start-up race.
/// </summary>
internal sealed class ListChangedCounter : IAsyncDisposable
{
    private readonly IAsyncDisposable _registration;
    private int _count;

    public ListChangedCounter(McpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        _registration = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            Interlocked.Increment(ref _count);
            return ValueTask.CompletedTask;
        });
    }

    public int Count => Volatile.Read(ref _count);

    public Task WaitForStreamAsync(SwitchboardTestServer server)
        => Eventually.TrueAsync(
            async () =>
            {
                var before = Count;
                await server.GetRequiredService<McpSessionRegistry>().NotifyToolsListChangedAsync(TestContext.Current.CancellationToken);
                for (var i = 0; i < 40 && Count == before; i++)
                {
                    await Task.Delay(25, TestContext.Current.CancellationToken);
                }

                return Count > before;
            },
            "the client's notification stream to be attached");

    /// <summary>Waits for a notification beyond the <paramref name="before"/> already counted.</summary>
    public Task WaitForMoreThanAsync(int before) => Eventually.TrueAsync(() => Count > before, "notifications/tools/list_changed");

    public ValueTask DisposeAsync() => _registration.DisposeAsync();
}
