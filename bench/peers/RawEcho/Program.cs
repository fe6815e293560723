using System.Net.WebSockets;

// The ceiling: Kestrel and routing, no MCP. Usage: RawEcho --urls http://127.0.0.1:PORT
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
var app = builder.Build();
app.UseWebSockets();

app.MapGet("/healthz", () => Results.Text("ok"));

// How many OTLP exports arrived (to check that a "tracing on" profile really exports).
long exports = 0;
app.MapGet("/stats", () => Results.Text($"otlp_exports {Interlocked.Read(ref exports)}\n"));

// The request body, unchanged, with the request's content type.
app.MapPost("/echo", static async context =>
{
    var length = context.Request.ContentLength;
    context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
    if (length is { } known)
    {
        context.Response.ContentLength = known;
    }

    await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
});

// OTLP/HTTP sink (http/protobuf): an empty Export*ServiceResponse is a valid, empty protobuf message.
app.MapPost("/v1/{signal}", async context =>
{
    Interlocked.Increment(ref exports);
    await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
    context.Response.ContentType = "application/x-protobuf";
    context.Response.ContentLength = 0;
});

// WebSocket echo with the MCP subprotocol: every text message comes back as it was sent.
app.Map("/ws", static async context =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
        return;
    }

    var subProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains("mcp") ? "mcp" : null;
    using var socket = await context.WebSockets.AcceptWebSocketAsync(subProtocol);
    var buffer = new byte[64 * 1024];
    while (socket.State == WebSocketState.Open)
    {
        var count = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            if (count == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            result = await socket.ReceiveAsync(buffer.AsMemory(count), context.RequestAborted);
            count += result.Count;
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

        if (result.MessageType == WebSocketMessageType.Close)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            break;
        }

        await socket.SendAsync(buffer.AsMemory(0, count), result.MessageType, true, context.RequestAborted);
    }
});

await app.RunAsync();
