using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Plugins.Upstreams;

/// <summary>
/// Checks <c>Switchboard:Upstreams</c> at start and lists every problem: unknown settings (typos), values of the wrong
/// type, missing or contradictory transport settings, commands that cannot be found, and secret references that do not
/// resolve. The raw configuration is checked too, because the binder stops at the first value it cannot convert.
/// </summary>
internal sealed class UpstreamOptionsValidator(IConfiguration configuration) : IValidateOptions<UpstreamsOptions>
{
    private const string Prefix = SwitchboardOptions.SectionName + ":Upstreams";

    private static readonly string[] s_knownVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

    // Headers the transport owns: letting configuration set them would break the protocol or smuggle requests.
    private static readonly HashSet<string> s_reservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Accept", "Upgrade", "TE", "Trailer",
        "Mcp-Session-Id", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Last-Event-ID",
    };

    private static readonly Dictionary<string, ValueKind> s_settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Version"] = ValueKind.Text,
        ["Transport"] = ValueKind.Transport,
        ["Command"] = ValueKind.Text,
        ["Arguments"] = ValueKind.List,
        ["Environment"] = ValueKind.Map,
        ["InheritEnvironment"] = ValueKind.Boolean,
        ["WorkingDirectory"] = ValueKind.Text,
        ["Url"] = ValueKind.Text,
        ["Headers"] = ValueKind.Map,
        ["Start"] = ValueKind.StartMode,
        ["Timeout"] = ValueKind.Duration,
        ["MaxConcurrency"] = ValueKind.Integer,
        ["MaxQueuedCalls"] = ValueKind.Integer,
        ["IdleTimeout"] = ValueKind.Duration,
        ["StartTimeout"] = ValueKind.Duration,
        ["ShutdownTimeout"] = ValueKind.Duration,
        ["ProtocolVersion"] = ValueKind.Text,
        ["Restart"] = ValueKind.Section,
        ["Restart:InitialDelay"] = ValueKind.Duration,
        ["Restart:MaxDelay"] = ValueKind.Duration,
        ["CircuitBreaker"] = ValueKind.Section,
        ["CircuitBreaker:FailureRatio"] = ValueKind.Number,
        ["CircuitBreaker:MinimumThroughput"] = ValueKind.Integer,
        ["CircuitBreaker:SamplingDuration"] = ValueKind.Duration,
        ["CircuitBreaker:BreakDuration"] = ValueKind.Duration,

        // Checked when the conversation declarations are built (Conversations/UpstreamConversationProvider).
        ["Conversation"] = ValueKind.Map,
    };

    private enum ValueKind
    {
        Text,
        List,
        Map,
        Section,
        Boolean,
        Integer,
        Number,
        Duration,
        Transport,
        StartMode,
    }

    public ValidateOptionsResult Validate(string? name, UpstreamsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        CheckRawConfiguration(problems);
        if (problems.Count == 0 && options.BindingError is { } bindingError)
        {
            problems.Add(bindingError);
        }

        foreach (var (upstream, server) in options.Upstreams.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Check(upstream, server, problems);
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private void CheckRawConfiguration(List<string> problems)
    {
        foreach (var upstream in configuration.GetSection(Prefix).GetChildren())
        {
            CheckSection(upstream, relative: null, problems);
        }
    }

    private static void CheckSection(IConfigurationSection section, string? relative, List<string> problems)
    {
        foreach (var child in section.GetChildren())
        {
            var key = relative is null ? child.Key : relative + ":" + child.Key;
            var path = $"{Prefix}:{child.Path[(Prefix.Length + 1)..]}";
            if (!s_settings.TryGetValue(key, out var kind))
            {
                problems.Add($"{path} is not a known upstream setting.");
                continue;
            }

            if (kind == ValueKind.Section)
            {
                CheckSection(child, key, problems);
                continue;
            }

            if (child.Value is not { } value)
            {
                if (kind is not (ValueKind.List or ValueKind.Map))
                {
                    problems.Add($"{path} must be a single value.");
                }

                continue;
            }

            var ok = kind switch
            {
                ValueKind.Boolean => bool.TryParse(value, out _),
                ValueKind.Integer => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                ValueKind.Number => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
                ValueKind.Duration => TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _),
                ValueKind.Transport => Enum.TryParse<UpstreamTransport>(value, ignoreCase: true, out var t) && Enum.IsDefined(t) && !int.TryParse(value, out _),
                ValueKind.StartMode => Enum.TryParse<UpstreamStartMode>(value, ignoreCase: true, out var s) && Enum.IsDefined(s) && !int.TryParse(value, out _),
                ValueKind.List or ValueKind.Map => value.Length == 0,
                _ => true,
            };
            if (!ok)
            {
                // Say what is expected, never echo the value: it could be a secret put in the wrong place.
                problems.Add($"{path} must be {Describe(kind)}.");
            }
        }
    }

    private static string Describe(ValueKind kind) => kind switch
    {
        ValueKind.Boolean => "true or false",
        ValueKind.Integer => "a whole number",
        ValueKind.Number => "a number",
        ValueKind.Duration => "a duration such as 00:00:30",
        ValueKind.Transport => "Stdio or Http",
        ValueKind.StartMode => "Lazy or Eager",
        ValueKind.List => "a list",
        ValueKind.Map => "a set of names and values",
        _ => "a value",
    };

    private static void Check(string upstream, UpstreamServerOptions server, List<string> problems)
    {
        var at = $"{Prefix}:{upstream}";
        if (!ToolNaming.IsValidPluginName(upstream))
        {
            problems.Add($"{at}: the upstream name is its plugin name and must be 1-32 lowercase letters, digits or hyphens, starting with a letter.");
        }

        if (string.IsNullOrWhiteSpace(server.Version))
        {
            problems.Add($"{at}:Version must be set (the plugin version the upstream is served as).");
        }

        switch (server.EffectiveTransport)
        {
            case UpstreamTransport.Stdio:
                CheckStdio(at, server, problems);
                break;
            case UpstreamTransport.Http:
                CheckHttp(at, server, problems);
                break;
            default:
                problems.Add(server.Command is not null && server.Url is not null
                    ? $"{at} sets both Command and Url: set Transport to Stdio or Http, and only the matching setting."
                    : $"{at} needs either Command (a stdio upstream) or Url (an HTTP upstream).");
                break;
        }

        CheckRange(server.Timeout, TimeSpan.Zero, TimeSpan.FromHours(1), $"{at}:Timeout", "positive and at most one hour", problems);
        CheckRange(server.IdleTimeout, TimeSpan.Zero, TimeSpan.FromDays(1), $"{at}:IdleTimeout", "positive and at most one day", problems);
        CheckRange(server.StartTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(10), $"{at}:StartTimeout", "positive and at most 10 minutes", problems);
        if (server.ShutdownTimeout < TimeSpan.Zero || server.ShutdownTimeout > TimeSpan.FromMinutes(1))
        {
            problems.Add($"{at}:ShutdownTimeout must be between 0 and one minute.");
        }

        if (server.MaxConcurrency is < 1 or > 1000)
        {
            problems.Add($"{at}:MaxConcurrency must be between 1 and 1000.");
        }

        if (server.MaxQueuedCalls is < 0 or > 10000)
        {
            problems.Add($"{at}:MaxQueuedCalls must be between 0 and 10000.");
        }

        CheckRange(server.Restart.InitialDelay, TimeSpan.Zero, TimeSpan.FromHours(1), $"{at}:Restart:InitialDelay", "positive and at most one hour", problems);
        CheckRange(server.Restart.MaxDelay, TimeSpan.Zero, TimeSpan.FromHours(1), $"{at}:Restart:MaxDelay", "positive and at most one hour", problems);
        if (server.Restart.MaxDelay < server.Restart.InitialDelay)
        {
            problems.Add($"{at}:Restart:MaxDelay must not be shorter than Restart:InitialDelay.");
        }

        var breaker = server.CircuitBreaker;
        if (!(breaker.FailureRatio > 0 && breaker.FailureRatio <= 1))
        {
            problems.Add($"{at}:CircuitBreaker:FailureRatio must be greater than 0 and at most 1.");
        }

        if (breaker.MinimumThroughput is < 2 or > 100000)
        {
            problems.Add($"{at}:CircuitBreaker:MinimumThroughput must be between 2 and 100000.");
        }

        if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500) || breaker.SamplingDuration > TimeSpan.FromDays(1))
        {
            problems.Add($"{at}:CircuitBreaker:SamplingDuration must be between 0.5 seconds and one day.");
        }

        if (breaker.BreakDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration > TimeSpan.FromDays(1))
        {
            problems.Add($"{at}:CircuitBreaker:BreakDuration must be between 0.5 seconds and one day.");
        }

        if (server.ProtocolVersion is { } version && !s_knownVersions.Contains(version, StringComparer.Ordinal))
        {
            problems.Add($"{at}:ProtocolVersion must be one of {string.Join(", ", s_knownVersions)}.");
        }
    }

    private static void CheckStdio(string at, UpstreamServerOptions server, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(server.Command))
        {
            problems.Add($"{at}:Command must be set for a stdio upstream.");
        }
        else if (UpstreamCommand.Resolve(server.Command) is null)
        {
            problems.Add(server.Command.Contains('/', StringComparison.Ordinal) || server.Command.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
                ? $"{at}:Command '{server.Command}' was not found (looked for {Path.GetFullPath(server.Command)})."
                : $"{at}:Command '{server.Command}' was not found on PATH.");
        }

        if (server.Url is not null || server.Headers.Count > 0)
        {
            problems.Add($"{at} is a stdio upstream: Url and Headers apply only to HTTP upstreams.");
        }

        if (server.WorkingDirectory is { } directory && !Directory.Exists(Path.GetFullPath(directory)))
        {
            problems.Add($"{at}:WorkingDirectory '{directory}' does not exist.");
        }

        for (var i = 0; i < server.Arguments.Count; i++)
        {
            if (UpstreamSecrets.HasReference(server.Arguments[i]))
            {
                problems.Add($"{at}:Arguments:{i} holds a secret reference; arguments are visible in the process list, so pass secrets through Environment instead.");
            }
        }

        foreach (var (variable, value) in server.Environment)
        {
            if (variable.Length == 0 || variable.Contains('=', StringComparison.Ordinal) || variable.Contains('\0', StringComparison.Ordinal))
            {
                problems.Add($"{at}:Environment has an invalid variable name '{variable}'.");
            }

            UpstreamSecrets.Check(value ?? string.Empty, $"{at}:Environment:{variable}", problems);
        }
    }

    private static void CheckHttp(string at, UpstreamServerOptions server, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(server.Url)
            || !Uri.TryCreate(server.Url, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add($"{at}:Url must be an absolute http:// or https:// address.");
        }
        else if (url.UserInfo.Length > 0)
        {
            problems.Add($"{at}:Url must not carry credentials; put them in Headers with a secret reference.");
        }

        if (server.Command is not null || server.Arguments.Count > 0 || server.Environment.Count > 0 || server.WorkingDirectory is not null)
        {
            problems.Add($"{at} is an HTTP upstream: Command, Arguments, Environment and WorkingDirectory apply only to stdio upstreams.");
        }

        foreach (var (header, value) in server.Headers)
        {
            if (header.Length == 0 || !header.All(IsTokenChar))
            {
                problems.Add($"{at}:Headers has an invalid header name '{header}'.");
            }
            else if (s_reservedHeaders.Contains(header))
            {
                problems.Add($"{at}:Headers:{header} is set by the gateway itself and cannot be configured.");
            }

            if (value is not null && (value.Contains('\r', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal)))
            {
                problems.Add($"{at}:Headers:{header} must be a single line.");
            }

            UpstreamSecrets.Check(value ?? string.Empty, $"{at}:Headers:{header}", problems);
        }
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private static void CheckRange(TimeSpan? value, TimeSpan exclusiveMin, TimeSpan max, string setting, string rule, List<string> problems)
    {
        if (value is { } v && (v <= exclusiveMin || v > max))
        {
            problems.Add($"{setting} must be {rule}.");
        }
    }
}
