using ModelContextProtocol.AspNetCore;
using Switchboard.Bench.Peers.BareMcpServer;

// A bare SDK server: MCP at /mcp, the echo tool, nothing else. Usage: BareMcpServer --urls http://127.0.0.1:PORT
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.Services
    .AddMcpServer(options => options.ServerInfo = new() { Name = "bare-csharp-sdk", Version = "1.0.0" })
    .WithHttpTransport(http => http.SessionMode = HttpServerSessionMode.StatefulForInitializeClients)
    .WithTools<EchoTools>();

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapMcp("/mcp");
await app.RunAsync();
