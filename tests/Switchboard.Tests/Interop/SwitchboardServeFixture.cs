using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Interop;

/// <summary>
/// One real <c>switchboard serve</c> process (the built executable, fresh data folder, free loopback port) shared by the
/// tests of a class. Tests in a class run one after another, so a test can take a <see cref="LogMark"/> and check that
/// the server logged no error while an independent client talked to it.
/// </summary>
public sealed partial class SwitchboardServeFixture : IAsyncLifetime
{
    /// <summary>The tools of the two sample plugins every default <c>switchboard serve</c> exposes.</summary>
    public static readonly string[] SampleTools = ["clock_convert", "clock_now", "conversation_open", "orders_confirm_refund", "orders_find_order", "orders_request_refund", "support_add_note", "support_set_status", "support_tag_case", "support_view_case", "text_echo", "text_word_count"];

    private SwitchboardProcess? _server;

    public SwitchboardProcess Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public Uri McpUri => Server.McpUri;

    public async ValueTask InitializeAsync()
        => _server = await SwitchboardProcess.StartServeAsync(cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>The current end of the server's output, to look only at what is logged after it.</summary>
    public LogMark Mark() => new(Server.StandardOutput.Length, Server.StandardError.Length);

    /// <summary>
    /// Fails when the server logged an error or critical entry (or anything on stderr) since <paramref name="mark"/>;
    /// writes warnings to the test output.
    /// </summary>
    public void AssertNoErrorsLoggedSince(LogMark mark)
    {
        var stdout = Server.StandardOutput[mark.StandardOutput..];
        var stderr = Server.StandardError[mark.StandardError..];
        foreach (var line in stdout.Split('\n').Where(l => WarningLine().IsMatch(l)))
        {
            TestContext.Current.TestOutputHelper?.WriteLine("switchboard warned: " + line.TrimEnd());
        }

        var errors = stdout.Split('\n').Where(l => ErrorLine().IsMatch(l)).ToList();
        Assert.True(errors.Count == 0, "switchboard logged errors:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        Assert.True(string.IsNullOrWhiteSpace(stderr), "switchboard wrote to stderr:" + Environment.NewLine + stderr);
    }

    [GeneratedRegex(@"\b(fail|crit):")]
    private static partial Regex ErrorLine();

    [GeneratedRegex(@"\bwarn:")]
    private static partial Regex WarningLine();
}

/// <summary>A position in the server's stdout and stderr.</summary>
public readonly record struct LogMark(int StandardOutput, int StandardError);

/// <summary>Helpers for reading what the interop clients print.</summary>
internal static class InteropOutput
{
    /// <summary>Fails with the client's output unless it exited 0.</summary>
    public static void AssertSucceeded(ProcessRunner.Result result, string what)
    {
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{what}: exit {result.ExitCode}");
        output?.WriteLine("stdout: " + result.StandardOutput);
        if (!string.IsNullOrWhiteSpace(result.StandardError))
        {
            output?.WriteLine("stderr: " + result.StandardError);
        }

        Assert.True(result.ExitCode == 0, $"{what} exited with {result.ExitCode}.{Environment.NewLine}{result.Combined}");
    }

    /// <summary>The JSON line a client script printed last.</summary>
    public static JsonObject LastJsonLine(ProcessRunner.Result result)
    {
        var line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new InvalidOperationException("The client printed nothing." + Environment.NewLine + result.Combined);
        return JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException("Not a JSON object: " + line);
    }

    public static string[] Strings(JsonNode? array)
        => array is JsonArray items ? items.Select(i => i!.GetValue<string>()).ToArray() : throw new InvalidOperationException("Not an array: " + array?.ToJsonString());

    /// <summary>Asserts every sample tool is listed, each once.</summary>
    public static void AssertListsSampleTools(IReadOnlyCollection<string> tools)
    {
        foreach (var tool in SwitchboardServeFixture.SampleTools)
        {
            Assert.Contains(tool, tools);
        }

        Assert.Equal(tools.Count, tools.Distinct(StringComparer.Ordinal).Count());
    }
}
