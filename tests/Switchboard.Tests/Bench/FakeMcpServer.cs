using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Bench;

/// <summary>
/// A tiny misbehaving MCP server on loopback for the load generator's error counting. Each path answers every
/// <c>tools/call</c> one way: <c>/ok</c>, <c>/error</c> (JSON-RPC error), <c>/iserror</c>, <c>/wrong-id</c>, <c>/status500</c>,
/// <c>/slow</c> (answers after 3 s); <c>/ws-ok</c>, <c>/ws-wrong-id</c>, <c>/ws-error</c> over WebSocket.
/// </summary>
internal sealed class FakeMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly System.Runtime.CompilerServices.StrongBox<int> _answeredOnWebSockets;

    private FakeMcpServer(WebApplication app, Uri baseUri, System.Runtime.CompilerServices.StrongBox<int> answeredOnWebSockets)
    {
        _app = app;
        BaseUri = baseUri;
        _answeredOnWebSockets = answeredOnWebSockets;
    }

    public Uri BaseUri { get; }

    /// <summary>Requests answered on <c>/ws-ok</c> so far.</summary>
    public int AnsweredOnWebSockets => Volatile.Read(ref _answeredOnWebSockets.Value);

    public static async Task<FakeMcpServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = TestWebHosts.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.UseWebSockets();
        app.MapPost("/ok", context => AnswerAsync(context, id => Result(id, "hello from switchboard-bench", isError: false)));
        app.MapPost("/error", context => AnswerAsync(context, id => $$$"""{"jsonrpc":"2.0","id":{{{id}}},"error":{"code":-32603,"message":"boom"}}"""));
        app.MapPost("/iserror", context => AnswerAsync(context, id => Result(id, "hello from switchboard-bench", isError: true)));
        app.MapPost("/wrong-id", context => AnswerAsync(context, id => Result(id + 1000, "hello from switchboard-bench", isError: false)));
        app.MapPost("/status500", static context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        app.MapPost("/slow", static async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
            context.Response.StatusCode = 200;
        });
        var answered = new System.Runtime.CompilerServices.StrongBox<int>();
        app.Map("/ws-ok", context => WebSocketAsync(context, id =>
        {
            Interlocked.Increment(ref answered.Value);
            return Result(id, "hello from switchboard-bench", isError: false);
        }));
        app.Map("/ws-wrong-id", context => WebSocketAsync(context, id => Result(id + 1_000_000, "hello from switchboard-bench", isError: false)));
        app.Map("/ws-error", context => WebSocketAsync(context, id => $$$"""{"jsonrpc":"2.0","id":{{{id}}},"error":{"code":-32602,"message":"no"}}"""));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FakeMcpServer(app, new Uri(address), answered);
    }

    private static string Result(long id, string text, bool isError)
        => $$"""{"result":{"content":[{"type":"text","text":"{{text}}"}]{{(isError ? ",\"isError\":true" : string.Empty)}}},"id":{{id}},"jsonrpc":"2.0"}""";

    private static async Task AnswerAsync(HttpContext context, Func<long, string> answer)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var id = body.RootElement.GetProperty("id").GetInt64();
        context.Response.ContentType = "text/event-stream";
        await context.Response.WriteAsync("event: message\ndata: " + answer(id) + "\n\n", context.RequestAborted);
    }

    private static async Task WebSocketAsync(HttpContext context, Func<long, string> answer)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync("mcp");
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var count = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                count += result.Count;
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            }

            using var message = JsonDocument.Parse(buffer.AsMemory(0, count));
            var id = message.RootElement.GetProperty("id").GetInt64();
            await socket.SendAsync(Encoding.UTF8.GetBytes(answer(id)), WebSocketMessageType.Text, true, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
