using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// An external issuer's JWKS endpoint on real Kestrel (loopback, port 0). Each path serves a response the test sets and
/// can change at any time (a rotation, an outage, a malformed document, a redirect); every request is counted.
/// </summary>
public sealed class JwksTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>> _responses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);

    private JwksTestServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public static async Task<JwksTestServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = TestWebHosts.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new JwksTestServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public string Url(string path) => new Uri(BaseUri, path).ToString();

    /// <summary>Serves <paramref name="json"/> with 200 at <paramref name="path"/>.</summary>
    public void ServeJson(string path, string json) => _responses[path] = async context =>
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    };

    /// <summary>Answers <paramref name="path"/> with a bare status (503 for an outage, 302 with a Location for a redirect).</summary>
    public void ServeStatus(string path, int status, string? location = null) => _responses[path] = context =>
    {
        context.Response.StatusCode = status;
        if (location is not null)
        {
            context.Response.Headers.Location = location;
        }

        return Task.CompletedTask;
    };

    public int Requests(string path) => _requests.TryGetValue(path, out var count) ? count : 0;

    public int TotalRequests => _requests.Values.Sum();

    private Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        _requests.AddOrUpdate(path, 1, static (_, count) => count + 1);
        if (_responses.TryGetValue(path, out var respond))
        {
            return respond(context);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
