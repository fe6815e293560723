using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Switchboard.Bench.Load;
using Switchboard.Bench.Processes;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.Idle;

/// <summary>
/// Opens many WebSocket connections, each making one call (after the handshake for 2025-11-25) and then sitting idle,
/// and measures how much resident memory the server added to hold them, and its CPU while they idle.
/// </summary>
internal sealed class IdleConnectionsRunner(SuiteConfig suite, Placeholders placeholders, string logDirectory, TextWriter console)
{
    public async Task<IdleResult> RunAsync(CancellationToken cancellationToken)
    {
        var config = suite.Idle ?? throw new InvalidOperationException("The suite has no idle section.");
        var target = suite.Targets[config.Target];
        var loadBefore = MachineLoad.ReadLoadAverage();
        await using var server = await ServerProcess.StartAsync(config.Target, suite, placeholders, logDirectory, null, cancellationToken);
        await server.WaitReadyAsync(target.Ready, TimeSpan.FromSeconds(60), cancellationToken);
        await server.ResolveServerPidAsync(cancellationToken);

        // Warm the server's WebSocket path first, so the baseline already holds what any first connection loads.
        var warm = SuiteRunner.CreateOptions(suite, target, config.Transport, server.BaseUri, 10, 1, null, expand: server.Expand) with
        {
            Warmup = TimeSpan.FromSeconds(1),
            Duration = TimeSpan.FromSeconds(2),
        };
        await LoadRunner.RunAsync(warm, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        var baseline = (ProcessSampler.ReadStatusKiB(server.Pid, "VmRSS:") ?? 0) / 1024.0;
        await console.WriteLineAsync($"idle: baseline RSS {baseline:0.0} MiB; opening {config.Connections} connections ...");

        var options = warm with { Connections = 1 };
        var template = RequestTemplate.Create(options.Transport, options.Target);
        var sockets = new ClientWebSocket?[config.Connections];
        var opening = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(100))
        {
            var tasks = new Task[config.Connections];
            for (var i = 0; i < config.Connections; i++)
            {
                var index = i;
                tasks[i] = Task.Run(
                    async () =>
                    {
                        await gate.WaitAsync(cancellationToken);
                        try
                        {
                            sockets[index] = await OpenAndCallAsync(options, template, config.CallsPerConnection, cancellationToken);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    },
                    cancellationToken);
            }

            await Task.WhenAll(tasks);
        }

        opening.Stop();
        var opened = sockets.Count(s => s is not null);
        await console.WriteLineAsync($"idle: {opened} of {config.Connections} open after {opening.Elapsed.TotalSeconds:0.0} s; holding {config.HoldSeconds:0} s ...");

        // A pending read on every connection notices a server that drops it.
        var dropped = 0;
        var buffer = new byte[64];
        var watchers = sockets.Where(s => s is not null).Select(s => Task.Run(
            async () =>
            {
                try
                {
                    await s!.ReceiveAsync(buffer, cancellationToken);
                }
                catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
                {
                }

                Interlocked.Increment(ref dropped);
            },
            CancellationToken.None)).ToList();

        var cpuStart = ProcessSampler.ReadCpuTime(server.Pid);
        var holdStart = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(config.HoldSeconds), cancellationToken);
        var held = (ProcessSampler.ReadStatusKiB(server.Pid, "VmRSS:") ?? 0) / 1024.0;
        var cpu = (ProcessSampler.ReadCpuTime(server.Pid) - cpuStart).TotalSeconds / Stopwatch.GetElapsedTime(holdStart).TotalSeconds * 100;
        var heldAtEnd = opened - Volatile.Read(ref dropped);

        foreach (var socket in sockets)
        {
            socket?.Abort();
            socket?.Dispose();
        }

        await Task.WhenAll(watchers).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return new IdleResult
        {
            Server = config.Target,
            Transport = options.Transport.Describe(),
            Requested = config.Connections,
            Opened = opened,
            HeldAtEnd = heldAtEnd,
            BaselineRssMiB = baseline,
            HeldRssMiB = held,
            OpenSeconds = opening.Elapsed.TotalSeconds,
            IdleCpuPercent = cpu,
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = MachineLoad.ReadLoadAverage(),
        };
    }

    /// <summary>Opens one connection, makes <paramref name="calls"/> calls one after another and returns it open; null when any step fails.</summary>
    internal static async Task<ClientWebSocket?> OpenAndCallAsync(LoadOptions options, RequestTemplate template, int calls, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mcp");
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        foreach (var (name, value) in options.Headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await socket.ConnectAsync(WebSocketWorker.EndpointOf(options.BaseUri, options.WebSocketPath), timeout.Token);
            var buffer = new byte[8192];
            if (template.Transport == BenchTransport.WsLegacy)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(RequestTemplate.InitializeBody(0)), WebSocketMessageType.Text, true, timeout.Token);
                await ReceiveAnswerAsync(socket, buffer, 0, timeout.Token);
                await socket.SendAsync(Encoding.UTF8.GetBytes(RequestTemplate.InitializedNotification), WebSocketMessageType.Text, true, timeout.Token);
            }

            for (var id = 1; id <= calls; id++)
            {
                var body = new byte[template.BodyLength(id)];
                template.WriteBody(body, id);
                await socket.SendAsync(body, WebSocketMessageType.Text, true, timeout.Token);
                var length = await ReceiveAnswerAsync(socket, buffer, id, timeout.Token);
                if (ResponseValidator.CheckJsonRpc(buffer.AsSpan(0, length), id, template.ExpectedText, out _) != CallCheck.Ok)
                {
                    socket.Dispose();
                    return null;
                }
            }

            return socket;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or InvalidDataException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task<int> ReceiveAnswerAsync(ClientWebSocket socket, byte[] buffer, long id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var count = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken);
                count += result.Count;
            }
            while (!result.EndOfMessage && count < buffer.Length);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidDataException("closed");
            }

            if (ResponseValidator.TryReadResponseId(buffer.AsSpan(0, count), out var answered) && answered == id)
            {
                return count;
            }
        }
    }
}
