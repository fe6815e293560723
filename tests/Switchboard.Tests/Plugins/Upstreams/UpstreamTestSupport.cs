using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Plugins.Upstreams;

/// <summary>Configuration for test upstreams: small timeouts and back-offs so the whole set stays fast.</summary>
internal static class UpstreamConfig
{
    public static string MisbehavingScript => Path.Combine(NodeTooling.InteropDirectory, "upstreams", "misbehaving.mjs");

    public static string EverythingScript => Path.Combine(NodeTooling.NodeModules, "@modelcontextprotocol", "server-everything", "dist", "index.js");

    public static void RequireNode()
    {
        NodeTooling.Require(Path.Combine("@modelcontextprotocol", "server-everything", "dist", "index.js"));
        NodeTooling.Require(Path.Combine("@modelcontextprotocol", "sdk", "package.json"));
    }

    /// <summary>A stdio upstream run with the repository's Node 22.</summary>
    public static Dictionary<string, string?> Stdio(string name, string script, IEnumerable<string>? arguments = null, string start = "Eager")
    {
        var prefix = $"Switchboard:Upstreams:{name}:";
        var settings = new Dictionary<string, string?>
        {
            [prefix + "Version"] = "1.0.0",
            [prefix + "Command"] = NodeTooling.NodePath,
            [prefix + "Arguments:0"] = script,
            [prefix + "Start"] = start,
            [prefix + "StartTimeout"] = "00:00:30",
            [prefix + "ShutdownTimeout"] = "00:00:00.300",
            [prefix + "Restart:InitialDelay"] = "00:00:00.050",
            [prefix + "Restart:MaxDelay"] = "00:00:00.200",
        };
        var index = 1;
        foreach (var argument in arguments ?? [])
        {
            settings[prefix + "Arguments:" + index.ToString(CultureInfo.InvariantCulture)] = argument;
            index++;
        }

        return settings;
    }

    public static Dictionary<string, string?> With(this Dictionary<string, string?> settings, string key, string? value)
    {
        settings[key] = value;
        return settings;
    }

    public static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts)
    {
        var merged = new Dictionary<string, string?>();
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                merged[key] = value;
            }
        }

        return merged;
    }
}

/// <summary>
/// One misbehaving upstream (tests/interop/upstreams/misbehaving.mjs) and the event log it writes: every start (with
/// its pid), call, cancellation and exit, so tests can count processes and see what reached the upstream.
/// </summary>
internal sealed class MisbehavingUpstream : IDisposable
{
    private readonly TemporaryDirectory _folder = new();

    public MisbehavingUpstream(string name = "misbehaving")
    {
        Name = name;
        LogPath = Path.Combine(_folder.Path, "events.log");
        File.WriteAllText(LogPath, string.Empty);
    }

    public string Name { get; }

    public string LogPath { get; }

    public string Folder => _folder.Path;

    public IReadOnlyList<string> Events
    {
        get
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>The pid of every process started so far, in order.</summary>
    public IReadOnlyList<int> StartedPids => Events
        .Where(e => e.StartsWith("start ", StringComparison.Ordinal))
        .Select(e => int.Parse(e[6..], CultureInfo.InvariantCulture))
        .ToList();

    /// <summary>Settings that mount this upstream (Eager unless told otherwise).</summary>
    public Dictionary<string, string?> Configuration(string mode = "normal", string start = "Eager", bool keepAlive = false)
    {
        var prefix = $"Switchboard:Upstreams:{Name}:";
        return UpstreamConfig.Stdio(Name, UpstreamConfig.MisbehavingScript, start: start)
            .With(prefix + "Environment:MISBEHAVE_MODE", mode)
            .With(prefix + "Environment:MISBEHAVE_LOG", LogPath)
            .With(prefix + "Environment:MISBEHAVE_KEEP_ALIVE", keepAlive ? "1" : "0");
    }

    public Task WaitForEventAsync(string line) => Eventually.TrueAsync(() => Events.Contains(line), $"'{line}' in the upstream's event log");

    public void Dispose() => _folder.Dispose();
}

/// <summary>Reads the Linux process table, to count an upstream's processes without trusting the gateway.</summary>
internal static class ProcessTable
{
    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Every live process whose parent (directly or further up) is <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> DescendantsOf(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var child))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] is not ("Z" or "X"))
                {
                    parents[child] = int.Parse(fields[1], CultureInfo.InvariantCulture);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended while we looked.
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([pid]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (child, ofParent) in parents)
            {
                if (ofParent == parent)
                {
                    result.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }

        return result;
    }
}

/// <summary>Collects log messages (formatted) so tests can check what was and was not logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => [.. _messages];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _messages);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            messages.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    messages.Enqueue($"  {key}={value}");
                }
            }
        }
    }
}
