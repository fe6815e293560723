using Switchboard.Hosting;

namespace Switchboard.Security;

/// <summary>Resolves <c>{env:NAME}</c> and <c>{file:/path}</c> references in a security setting; failures name the reference, never a value.</summary>
internal static class SecretValue
{
    public static string Resolve(string value, string setting)
        => Plugins.Upstreams.UpstreamSecrets.TryResolve(value, setting, out var resolved, out var problem)
            ? resolved
            : throw new SwitchboardStartupException(problem ?? $"{setting} could not be resolved.");
}
