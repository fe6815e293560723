using System.Globalization;
using System.Text;
using Microsoft.Diagnostics.Runtime;

namespace Switchboard.Bench.Idle;

/// <summary>Objects of one type on the managed heap: how many, and their shallow size.</summary>
internal readonly record struct HeapTypeCount(long Count, long Bytes);

/// <summary>What one more item (an idle connection) added to the heap, for one type.</summary>
internal sealed record HeapGrowth(string Type, string Group, double CountPerItem, double BytesPerItem);

/// <summary>
/// A histogram of the objects reachable from the GC roots of another .NET process (JIT or ReadyToRun; ClrMD cannot read a
/// Native AOT process), and the difference of two histograms per item. Only reachable objects count, so garbage
/// waiting for the next collection does not blur the difference.
/// </summary>
internal static class HeapHistogram
{
    /// <summary>Suspends the process while it walks the heap (a second or two for a few hundred MB).</summary>
    public static Dictionary<string, HeapTypeCount> Take(int pid)
    {
        using var target = DataTarget.AttachToProcess(pid, suspend: true);
        var clr = target.ClrVersions.FirstOrDefault() ?? throw new InvalidOperationException($"Process {pid} has no .NET runtime ClrMD can read (a Native AOT build cannot be inspected: use the JIT or ReadyToRun build).");

        // The data-access library ships beside the runtime; ClrMD does not look there by itself on Linux, and it reads the
        // runtime module's version as 0.0 there, so the version check is skipped: the library beside the runtime is its own.
        var dac = Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName) ?? string.Empty, OperatingSystem.IsWindows() ? "mscordaccore.dll" : "libmscordaccore.so");
        using var runtime = File.Exists(dac) ? clr.CreateRuntime(dac, ignoreMismatch: true) : clr.CreateRuntime();
        var histogram = new Dictionary<string, HeapTypeCount>(StringComparer.Ordinal);
        var seen = new HashSet<ulong>();
        var pending = new Stack<ulong>();
        foreach (var root in runtime.Heap.EnumerateRoots())
        {
            if (root.Object.Address != 0)
            {
                pending.Push(root.Object.Address);
            }
        }

        while (pending.Count > 0)
        {
            var address = pending.Pop();
            if (!seen.Add(address))
            {
                continue;
            }

            var value = runtime.Heap.GetObject(address);
            if (!value.IsValid || value.Type?.Name is not { } name)
            {
                continue;
            }

            histogram[name] = histogram.TryGetValue(name, out var sofar) ? new HeapTypeCount(sofar.Count + 1, sofar.Bytes + (long)value.Size) : new HeapTypeCount(1, (long)value.Size);
            foreach (var reference in value.EnumerateReferenceAddresses())
            {
                if (reference != 0 && !seen.Contains(reference))
                {
                    pending.Push(reference);
                }
            }
        }

        return histogram;
    }

    /// <summary>The types that grew, per item, largest first.</summary>
    public static List<HeapGrowth> PerItem(IReadOnlyDictionary<string, HeapTypeCount> before, IReadOnlyDictionary<string, HeapTypeCount> after, int items)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        var rows = new List<HeapGrowth>();
        foreach (var (type, now) in after)
        {
            var then = before.TryGetValue(type, out var earlier) ? earlier : default;
            var bytes = now.Bytes - then.Bytes;
            if (bytes > 0)
            {
                rows.Add(new HeapGrowth(type, GroupOf(type), (now.Count - then.Count) / (double)items, bytes / (double)items));
            }
        }

        return [.. rows.OrderByDescending(r => r.BytesPerItem).ThenBy(r => r.Type, StringComparer.Ordinal)];
    }

    /// <summary>Who owns a type, by the namespaces in its (possibly generic) name; the first match wins.</summary>
    public static string GroupOf(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.Contains("Switchboard.", StringComparison.Ordinal))
        {
            return "Switchboard";
        }

        if (type.Contains("ModelContextProtocol", StringComparison.Ordinal))
        {
            return "MCP C# SDK";
        }

        if (type.Contains("Microsoft.AspNetCore", StringComparison.Ordinal) || type.Contains("System.IO.Pipelines", StringComparison.Ordinal) || type.Contains("System.Net.Sockets", StringComparison.Ordinal))
        {
            return "Kestrel and ASP.NET Core";
        }

        if (type.Contains("System.Net.WebSockets", StringComparison.Ordinal))
        {
            return "WebSocket";
        }

        return type == "System.String" ? "strings" : "other runtime types";
    }

    /// <summary>Markdown: the total, the groups, then the largest <paramref name="top"/> types.</summary>
    public static string Render(IReadOnlyList<HeapGrowth> rows, int items, int top)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"Reachable managed heap added per item ({items:N0} items): **{rows.Sum(r => r.BytesPerItem):N0} B**");
        text.AppendLine();
        text.AppendLine("| owner | bytes per item |");
        text.AppendLine("|---|---:|");
        foreach (var group in rows.GroupBy(r => r.Group).Select(g => (g.Key, Bytes: g.Sum(r => r.BytesPerItem))).OrderByDescending(g => g.Bytes))
        {
            text.AppendLine(invariant, $"| {group.Key} | {group.Bytes:N0} |");
        }

        text.AppendLine();
        text.AppendLine("| type | owner | objects per item | bytes per item |");
        text.AppendLine("|---|---|---:|---:|");
        foreach (var row in rows.Take(top))
        {
            text.AppendLine(invariant, $"| `{row.Type.Replace("|", "\\|", StringComparison.Ordinal)}` | {row.Group} | {row.CountPerItem:0.00} | {row.BytesPerItem:N0} |");
        }

        return text.ToString();
    }
}
