using System.Text.Json.Nodes;

namespace Switchboard.Tests.TestSupport;

/// <summary>Polls a condition until it holds or a deadline passes (never a fixed sleep for synchronisation).</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
        => await ValueAsync(() => Task.FromResult(condition()), ok => ok, what, timeout);

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
        => await ValueAsync(condition, ok => ok, what, timeout);

    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > limit)
            {
                Assert.Fail($"Timed out waiting for {what}. Last value: {Describe(value)}");
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        JsonNode node => node.ToJsonString(),
        System.Collections.IEnumerable items and not string => string.Join(", ", items.Cast<object?>()),
        _ => value?.ToString() ?? "null",
    };
}
