using System.CommandLine;
using System.Net.WebSockets;
using Switchboard.Bench.Idle;
using Switchboard.Bench.Load;

namespace Switchboard.Bench.Cli;

/// <summary>
/// <c>switchboard-bench heap</c>: what one idle WebSocket connection holds on the server's managed heap, by type. Takes a
/// histogram of the reachable heap, opens N connections that each make one call and go quiet, takes another, and prints
/// the difference per connection as markdown. The server must be a JIT or ReadyToRun build on this machine.
/// </summary>
internal static class HeapCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The server's base address, e.g. http://127.0.0.1:8080.", Required = true };
        var pid = new Option<int>("--pid") { Description = "The server's process id (JIT or ReadyToRun build; ClrMD cannot read Native AOT).", Required = true };
        var transport = new Option<string>("--transport") { Description = "ws-modern | ws-legacy (default ws-modern).", DefaultValueFactory = _ => "ws-modern" };
        var connections = new Option<int>("--connections") { Description = "Idle connections to open (default 2000).", DefaultValueFactory = _ => 2000 };
        var header = new Option<string[]>("--header") { Description = "Extra header 'Name: value' for the upgrade (repeatable).", AllowMultipleArgumentsPerToken = false };
        var top = new Option<int>("--top") { Description = "Types to list (default 40).", DefaultValueFactory = _ => 40 };
        var calls = new Option<int>("--calls") { Description = "Calls each connection makes, one after another, before it idles (default 1).", DefaultValueFactory = _ => 1 };

        var command = new Command("heap", "Show what each idle WebSocket connection adds to a running server's managed heap, by type.")
        {
            url, pid, transport, connections, header, top, calls,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var kind = BenchTransportNames.Parse(parse.GetValue(transport)!);
            if (kind is not (BenchTransport.WsModern or BenchTransport.WsLegacy))
            {
                await Console.Error.WriteLineAsync("heap: --transport must be ws-modern or ws-legacy.");
                return 2;
            }

            var options = new LoadOptions { BaseUri = new Uri(parse.GetValue(url)!), Transport = kind, Connections = 1, Headers = LoadCommand.ParseHeaders(parse.GetValue(header)) };
            var template = RequestTemplate.Create(kind, options.Target);
            var count = parse.GetValue(connections);
            var callsEach = Math.Max(1, parse.GetValue(calls));

            // One connection first, so the baseline already holds whatever the first connection of a process loads.
            using (var warm = await IdleConnectionsRunner.OpenAndCallAsync(options, template, callsEach, cancellationToken))
            {
                if (warm is null)
                {
                    await Console.Error.WriteLineAsync("heap: the warm-up connection failed (is the server up, and does it need --header 'Authorization: Bearer …'?).");
                    return 1;
                }

                await warm.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            if (TryTake(parse.GetValue(pid)) is not { } before)
            {
                return 1;
            }

            var sockets = new List<ClientWebSocket>(count);
            try
            {
                using var gate = new SemaphoreSlim(50);
                var opening = Enumerable.Range(0, count).Select(async _ =>
                {
                    await gate.WaitAsync(cancellationToken);
                    try
                    {
                        return await IdleConnectionsRunner.OpenAndCallAsync(options, template, callsEach, cancellationToken);
                    }
                    finally
                    {
                        gate.Release();
                    }
                });
                sockets.AddRange((await Task.WhenAll(opening)).OfType<ClientWebSocket>());
                if (sockets.Count != count)
                {
                    await Console.Error.WriteLineAsync($"heap: only {sockets.Count} of {count} connections opened and answered.");
                    return 1;
                }

                // Let the calls' leftovers settle (pending sends complete, short-lived objects die).
                await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
                if (TryTake(parse.GetValue(pid)) is not { } after)
                {
                    return 1;
                }

                Console.WriteLine(HeapHistogram.Render(HeapHistogram.PerItem(before, after, count), count, parse.GetValue(top)));
                return 0;
            }
            finally
            {
                foreach (var socket in sockets)
                {
                    socket.Abort();
                    socket.Dispose();
                }
            }
        });
        return command;
    }

    /// <summary>A histogram, or null (and the reason on stderr) when the process cannot be read.</summary>
    private static Dictionary<string, HeapTypeCount>? TryTake(int pid)
    {
        try
        {
            return HeapHistogram.Take(pid);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Microsoft.Diagnostics.Runtime.ClrDiagnosticsException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"heap: cannot read the managed heap of process {pid}: {ex.Message}");
            return null;
        }
    }
}
