using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>The server's own logs carry no raw PII: classified properties are written as keyed pseudonyms.</summary>
public sealed class LogRedactionTests
{
    private const string Subject = "carol.jones@example.com";
    private const string Card = "4111 1111 1111 1111";

    [Fact]
    public async Task BlockedCallByAnEmailNamedPrincipal_IsLoggedWithAPseudonym_AndNoLogLineHoldsTheRawValues()
    {
        var sink = new CapturingLoggerProvider();
        await using var server = await SwitchboardTestServer.StartAsync(
            configure: b => b.Services.AddSingleton<ILoggerProvider>(sink),
            configuration: new Dictionary<string, string?> { ["Switchboard:Compliance:Plugins:text:Arguments:CREDIT_CARD"] = "block" },
            authenticate: true,
            cancellationToken: TestContext.Current.CancellationToken);
        var token = server.GetRequiredService<AccessTokenIssuer>().Issue(new TokenRequest(Subject, "client-9", "tools:text/*")).AccessToken;
        using var http = server.CreateHttpClient();

        var request = McpHttp.ModernRequest(server.McpUri, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "pay with " + Card } });
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await McpHttp.SendAsync(http, request, TestContext.Current.CancellationToken);

        Assert.True(response.Result["isError"]!.GetValue<bool>());
        var blocked = Assert.Single(sink.Lines, l => l.Contains("Data policy blocked", StringComparison.Ordinal));
        Assert.Matches("pd:[0-9a-f]{16}", blocked);
        Assert.DoesNotContain(sink.Lines, l => l.Contains(Subject, StringComparison.Ordinal) || l.Contains(Card, StringComparison.Ordinal) || l.Contains(token, StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
                owner.Lines.Enqueue($"{formatter(state, exception)} [{properties}] {exception}");
            }
        }
    }
}
