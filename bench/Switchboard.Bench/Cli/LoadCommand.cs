using System.CommandLine;
using System.Text.Json;
using Switchboard.Bench.Load;
using Switchboard.Bench.Reports;

namespace Switchboard.Bench.Cli;

/// <summary><c>switchboard-bench load</c>: one load test against a running server.</summary>
internal static class LoadCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The server's base address, e.g. http://127.0.0.1:8080.", Required = true };
        var transport = new Option<string>("--transport") { Description = "rest | mcp-modern | mcp-legacy | ws-modern | ws-legacy | raw-http | raw-ws", Required = true };
        var connections = new Option<int>("--connections") { Description = "Connections (default 50).", DefaultValueFactory = _ => 50 };
        var inFlight = new Option<int>("--inflight") { Description = "Requests in flight per WebSocket connection (default 1).", DefaultValueFactory = _ => 1 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds (default 15).", DefaultValueFactory = _ => 15 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds before the window (default 5).", DefaultValueFactory = _ => 5 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds before a call counts as a timeout (default 5).", DefaultValueFactory = _ => 5 };
        var pid = new Option<int?>("--pid") { Description = "The server's process id, to sample its CPU and RSS." };
        var header = new Option<string[]>("--header") { Description = "Extra header 'Name: value' (repeatable), e.g. 'Authorization: Bearer TOKEN'.", AllowMultipleArgumentsPerToken = false };
        var tool = new Option<string>("--tool") { Description = "Tool name (default text_echo).", DefaultValueFactory = _ => CallTarget.TextEcho.Tool };
        var argument = new Option<string>("--argument") { Description = "The tool's text argument (default text).", DefaultValueFactory = _ => CallTarget.TextEcho.Argument };
        var text = new Option<string>("--text") { Description = "Text to send.", DefaultValueFactory = _ => CallTarget.DefaultText };
        var expect = new Option<string?>("--expect") { Description = "Text a correct answer carries (default: the text sent)." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the result as JSON to this file." };

        var command = new Command("load", "Run one load test against a running server and print the result.")
        {
            url, transport, connections, inFlight, duration, warmup, timeout, pid, header, tool, argument, text, expect, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sent = parse.GetValue(text)!;
            var options = new LoadOptions
            {
                BaseUri = new Uri(parse.GetValue(url)!),
                Transport = BenchTransportNames.Parse(parse.GetValue(transport)!),
                Connections = parse.GetValue(connections),
                InFlight = parse.GetValue(inFlight),
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                ServerPid = parse.GetValue(pid),
                Headers = ParseHeaders(parse.GetValue(header)),
                Target = new CallTarget(parse.GetValue(tool)!, parse.GetValue(argument)!, sent, parse.GetValue(expect) ?? sent),
            };
            var result = await LoadRunner.RunAsync(options, cancellationToken);
            Console.WriteLine(ResultFormatter.TableHeader);
            Console.WriteLine(ResultFormatter.Row(result, options.BaseUri.Authority));
            if (parse.GetValue(json) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(result, BenchJsonContext.Default.LoadResult), cancellationToken);
            }

            return result.Errors == 0 && result.Ok > 0 ? 0 : 1;
        });
        return command;
    }

    public static List<KeyValuePair<string, string>> ParseHeaders(IEnumerable<string>? headers)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var header in headers ?? [])
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ArgumentException($"A header must look like 'Name: value', not '{header}'.", nameof(headers));
            }

            list.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
        }

        return list;
    }
}
