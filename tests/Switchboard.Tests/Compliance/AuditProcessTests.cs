using System.Diagnostics;
using System.Text.Json.Nodes;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// The real <c>switchboard</c> executable: a <c>kill -9</c> under load leaves a log that verifies and has no answered
/// call without its durable intent record; the next start closes the calls that were in flight; <c>audit verify</c>,
/// <c>audit export</c> and <c>policy show</c> work on the data folder.
/// </summary>
public sealed class AuditProcessTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static SwitchboardProcess Serve(TemporaryDirectory data, bool survivesPowerLoss = true)
    {
        // Without the fsync per commit (Audit:SurvivesPowerLoss false) a record is in the operating system when the call
        // runs, so a killed process must lose nothing either.
        var config = Path.Combine(data.Path, "durability.json");
        var value = survivesPowerLoss ? "true" : "false";
        File.WriteAllText(config, "{\"Switchboard\":{\"Compliance\":{\"Audit\":{\"SurvivesPowerLoss\":" + value + "}}}}");
        return SwitchboardProcess.Start(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path, "--no-auth", "--config", config]);
    }

    internal static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        await using var process = SwitchboardProcess.Start(arguments);
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exit, process.StandardOutput + process.StandardError);
    }

    private static async Task<List<JsonObject>> ExportAsync(TemporaryDirectory data)
    {
        var file = Path.Combine(data.Path, "export.jsonl");
        var (exit, output) = await RunAsync("audit", "export", "--data", data.Path, "--output", file);
        Assert.True(exit == 0, output);
        return (await File.ReadAllLinesAsync(file, Token)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KillDashNineUnderLoad_LeavesAVerifiableLog_WithNoAnsweredCallUnaudited(bool survivesPowerLoss)
    {
        using var data = new TemporaryDirectory();
        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using (var server = Serve(data, survivesPowerLoss))
        {
            var endpoint = await server.WaitUntilServingAsync(Token);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);

            async Task WorkerAsync(int worker)
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var tag = $"w{worker}-{i}";
                    try
                    {
                        var response = await McpHttp.SendAsync(http, McpHttp.ModernRequest(endpoint, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = tag } }), stop.Token);
                        if (response.Message?["result"]?["content"]?[0]?["text"]?.GetValue<string>() == tag)
                        {
                            answered.Add(tag);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or IOException)
                    {
                        return;
                    }
                }
            }

            var workers = Enumerable.Range(0, 8).Select(w => Task.Run(() => WorkerAsync(w), Token)).ToList();

            // Kill once a good number of calls have been answered (event-driven on the answers, not a fixed sleep).
            while (answered.Count < 200 && workers.Any(w => !w.IsCompleted))
            {
                await Task.Delay(10, Token);
            }

            Process.GetProcessById(server.Id).Kill();
            await Task.WhenAll(workers);
            await stop.CancelAsync();
        }

        Assert.True(answered.Count >= 200, $"only {answered.Count} calls were answered before the kill");

        var (exit, output) = await RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("ok:", output, StringComparison.Ordinal);

        var records = await ExportAsync(data);
        var intents = records.Where(r => r["kind"]!.GetValue<string>() == "call.intent").ToList();
        var intentTags = intents.Select(r => r["arguments"]?["summary"]?.GetValue<string>() ?? string.Empty).ToList();
        var missing = answered.Where(tag => !intentTags.Any(s => s.Contains($"\"{tag}\"", StringComparison.Ordinal))).ToList();
        Assert.Empty(missing);

        // The next start closes every call that was in flight at the kill: no intent stays without an outcome.
        await using (var restarted = Serve(data))
        {
            await restarted.WaitUntilServingAsync(Token);
            Assert.Equal(0, await restarted.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        var after = await ExportAsync(data);
        var closed = after.Where(r => r["intent"] is not null).Select(r => r["intent"]!.GetValue<long>()).ToHashSet();
        Assert.All(after.Where(r => r["kind"]!.GetValue<string>() == "call.intent"), r => Assert.Contains(r["seq"]!.GetValue<long>(), closed));
        var (verifyExit, verifyOutput) = await RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(verifyExit == 0, verifyOutput);
    }

    [Fact]
    public async Task AuditVerifyCommand_ExitsOneWithTheFirstBadIndex_WhenAFileRecordIsEdited()
    {
        using var data = new TemporaryDirectory();
        await using (var server = Serve(data))
        {
            var endpoint = await server.WaitUntilServingAsync(Token);
            using var http = new HttpClient();
            await McpHttp.SendAsync(http, McpHttp.ModernRequest(endpoint, "tools/list"), Token);
            await McpHttp.SendAsync(http, McpHttp.ModernRequest(endpoint, "tools/call", new JsonObject { ["name"] = "text_echo", ["arguments"] = new JsonObject { ["text"] = "x" } }), Token);
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        var (okExit, okOutput) = await RunAsync("audit", "verify", "--data", data.Path);
        Assert.True(okExit == 0, okOutput);

        var records = await ExportAsync(data);
        Assert.Equal(["start", "list", "call.intent", "call.outcome"], records.Select(r => r["kind"]!.GetValue<string>()));

        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data.Path, "audit.db")};Pooling=False"))
        {
            await connection.OpenAsync(Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE audit_log SET record = replace(record, '\"success\"', '\"tool_error\"') WHERE seq = 3;";
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Token));
        }

        var (badExit, badOutput) = await RunAsync("audit", "verify", "--data", data.Path);
        Assert.Equal(1, badExit);
        Assert.Contains("FAILED at index 3", badOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyShow_PrintsTheDefaultsAndConfiguredOverrides()
    {
        using var data = new TemporaryDirectory();
        var config = Path.Combine(data.Path, "switchboard.json");
        await File.WriteAllTextAsync(config, """{"Switchboard":{"Compliance":{"Plugins":{"crm":{"Tools":{"lookup":{"Results":{"EMAIL":"tokenize"}}}}}}}}""", Token);

        var (exit, output) = await RunAsync("policy", "show", "--data", data.Path, "--config", config);

        Assert.True(exit == 0, output);
        Assert.Contains("defaults results: confidential=mask, restricted=mask, secret=redact", output, StringComparison.Ordinal);
        Assert.Contains("plugin crm tool lookup results: EMAIL=tokenize", output, StringComparison.Ordinal);
        Assert.Contains("CN_RESIDENT_ID", output, StringComparison.Ordinal);
    }
}
