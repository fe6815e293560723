using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Switchboard.Hosting;

namespace Switchboard.Security;

/// <summary>
/// The policy in force. Loaded from <c>Switchboard:Security:Policy</c> at start (an invalid policy stops the start), and
/// again whenever the configuration reloads (the <c>--config</c> file changes): a valid new policy replaces the old one at
/// once; an invalid one is refused with every problem logged, and the last good policy stays in force.
/// </summary>
public sealed partial class PolicyProvider : IDisposable
{
    private const string Section = "Switchboard:Security:Policy";
    private readonly IConfiguration _configuration;
    private readonly ILogger<PolicyProvider> _logger;
    private readonly IDisposable _subscription;
    private volatile CompiledPolicy _current;

    public PolicyProvider(IConfiguration configuration, ILogger<PolicyProvider> logger)
    {
        _configuration = configuration;
        _logger = logger;
        var (policy, problems) = Load();
        if (problems.Count > 0)
        {
            throw new SwitchboardStartupException("invalid policy:" + string.Concat(problems.Select(p => Environment.NewLine + "  - " + p)));
        }

        _current = policy;
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    /// <summary>The policy in force.</summary>
    public CompiledPolicy Current => _current;

    /// <summary>Raised after a new policy took effect.</summary>
    public event EventHandler? Changed;

    /// <summary>Raised when a reload was refused (with the problems); the previous policy stays in force.</summary>
    public event EventHandler<IReadOnlyList<string>>? ReloadRefused;

    /// <summary>Counts refused reloads (diagnostics and tests).</summary>
    public int RefusedReloads { get; private set; }

    public void Dispose() => _subscription.Dispose();

    private void Reload()
    {
        var (policy, problems) = Load();
        if (problems.Count > 0)
        {
            RefusedReloads++;
            Log.ReloadRefused(_logger, string.Join(" | ", problems));
            ReloadRefused?.Invoke(this, problems);
            return;
        }

        _current = policy;
        Log.Reloaded(_logger, policy.Grants.Count);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private (CompiledPolicy Policy, IReadOnlyList<string> Problems) Load()
    {
        var options = new PolicyOptions();
        try
        {
            _configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            return (CompiledPolicy.Empty, [$"{Section} could not be read: {ex.Message}"]);
        }

        var policy = CompiledPolicy.Compile(options, out var problems);
        return (policy, problems);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6301, EventName = "PolicyReloadRefused", Level = LogLevel.Error, Message = "The new policy was refused; the previous policy stays in force: {Problems}")]
        public static partial void ReloadRefused(ILogger logger, string problems);

        [LoggerMessage(EventId = 6302, EventName = "PolicyReloaded", Level = LogLevel.Information, Message = "Policy reloaded with {GrantCount} grants")]
        public static partial void Reloaded(ILogger logger, int grantCount);
    }
}
