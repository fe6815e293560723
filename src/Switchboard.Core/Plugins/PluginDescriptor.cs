using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Switchboard.Plugins;

/// <summary>
/// An in-process plugin registered in code: a name, a version and C# tool methods marked with the MCP SDK's
/// <see cref="McpServerToolAttribute"/>.
/// </summary>
public sealed class PluginDescriptor
{
    /// <summary>The plugin name (lowercase letters, digits, hyphens; no underscore).</summary>
    public required string Name { get; init; }

    /// <summary>The plugin version, for example <c>1.0.0</c>.</summary>
    public required string Version { get; init; }

    /// <summary>What the plugin is for.</summary>
    public string? Description { get; init; }

    /// <summary>Prefix of exposed tool names; <see langword="null"/> for the plugin name, empty for none.</summary>
    public string? ToolNamePrefix { get; init; }

    /// <summary>The plugin's default tool timeout; configuration may override it.</summary>
    public TimeSpan? DefaultToolTimeout { get; init; }

    /// <summary>
    /// Which thread the plugin's calls start on. <see cref="ToolExecution.Inline"/> is for tools that never block;
    /// configuration (<c>Switchboard:Plugins:&lt;plugin&gt;:Execution</c>) may override it.
    /// </summary>
    public ToolExecution Execution { get; init; } = ToolExecution.ThreadPool;

    /// <summary>Where the plugin is defined, for error messages.</summary>
    public required string Source { get; init; }

    /// <summary>Creates the plugin's tools from the application's services.</summary>
    public required Func<IServiceProvider, IReadOnlyList<McpServerTool>> CreateTools { get; init; }

    /// <summary>
    /// Describes a plugin whose tools are the <see cref="McpServerToolAttribute"/> methods of <typeparamref name="TTools"/>.
    /// Instance methods get a new <typeparamref name="TTools"/> per call, created from the request's services.
    /// </summary>
    public static PluginDescriptor FromType<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] TTools>(
        string name,
        string version,
        string? description = null,
        TimeSpan? defaultToolTimeout = null,
        string? toolNamePrefix = null,
        ToolExecution execution = ToolExecution.ThreadPool)
    {
        return new PluginDescriptor
        {
            Name = name,
            Version = version,
            Description = description,
            DefaultToolTimeout = defaultToolTimeout,
            ToolNamePrefix = toolNamePrefix,
            Execution = execution,
            Source = $"in-process type {typeof(TTools).FullName}",
            CreateTools = services => CreateToolsFromType<TTools>(services),
        };
    }

    private static List<McpServerTool> CreateToolsFromType<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] TTools>(IServiceProvider services)
    {
        var tools = new List<McpServerTool>();
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (var method in typeof(TTools).GetMethods(flags).OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            if (method.GetCustomAttribute<McpServerToolAttribute>() is null)
            {
                continue;
            }

            var options = new McpServerToolCreateOptions { Services = services, SerializerOptions = Serialization.SwitchboardJson.ToolOptions };
            tools.Add(method.IsStatic
                ? McpServerTool.Create(method, target: null, options)
                : McpServerTool.Create(method, CreateTarget, options));
        }

        return tools;

        static object CreateTarget(RequestContext<CallToolRequestParams> request)
            => ActivatorUtilities.CreateInstance<TTools>(request.Services ?? throw new InvalidOperationException("The request has no services."))!;
    }
}
