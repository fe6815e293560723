using System.Buffers;
using System.Text.Json;

namespace Switchboard.Conversations;

/// <summary>
/// The merge rules of the policies, as pure functions over stored entries. An entry is never changed in place: each
/// function returns a new one. The rules of <c>lww</c>, <c>counter</c>, <c>set</c> and <c>append</c> commute once a
/// write has been stamped (clock, tag or sequence), so replicas that apply the same writes in any order converge; the
/// property tests check exactly that.
/// </summary>
internal static class StateMerge
{
    /// <summary>exclusive and owner: replaces the value.</summary>
    public static StoredEntry Assign(StoredEntry? current, StatePolicy policy, JsonElement value) => new()
    {
        Policy = policy,
        Version = (current?.Version ?? 0) + 1,
        Value = value,
    };

    /// <summary>lww: the write with the larger (stamp, writer) wins; every write counts in the version.</summary>
    public static StoredEntry LastWriterWins(StoredEntry? current, JsonElement value, long stamp, string writer)
    {
        var wins = current?.Value is null || stamp > current.Stamp || (stamp == current.Stamp && string.CompareOrdinal(writer, current.Writer) > 0);
        return new StoredEntry
        {
            Policy = StatePolicy.Lww,
            Version = (current?.Version ?? 0) + 1,
            Value = wins ? value : current!.Value,
            Stamp = wins ? stamp : current!.Stamp,
            Writer = wins ? writer : current!.Writer,
        };
    }

    /// <summary>counter: adds; false when the total would overflow.</summary>
    public static bool TryIncrement(StoredEntry? current, long delta, out StoredEntry entry)
    {
        var total = current?.Count ?? 0;
        long sum;
        try
        {
            sum = checked(total + delta);
        }
        catch (OverflowException)
        {
            entry = current!;
            return false;
        }

        entry = new StoredEntry { Policy = StatePolicy.Counter, Version = (current?.Version ?? 0) + 1, Count = sum };
        return true;
    }

    /// <summary>set: adds a member under a unique tag.</summary>
    public static StoredEntry SetAdd(StoredEntry? current, JsonElement member, string tag)
    {
        var identity = Identity(member);
        var members = new List<SetMember>(current?.Members?.Count + 1 ?? 1);
        var found = false;
        foreach (var existing in current?.Members ?? [])
        {
            if (Identity(existing.Value) == identity)
            {
                found = true;
                members.Add(existing with { Tags = [.. existing.Tags, tag] });
            }
            else
            {
                members.Add(existing);
            }
        }

        if (!found)
        {
            members.Add(new SetMember(member, [tag]));
        }

        return new StoredEntry { Policy = StatePolicy.Set, Version = (current?.Version ?? 0) + 1, Members = members };
    }

    /// <summary>set: removes the tags the writer observed; an addition it did not see survives (add wins).</summary>
    public static StoredEntry SetRemove(StoredEntry? current, JsonElement member, IReadOnlyCollection<string> observedTags)
    {
        var identity = Identity(member);
        var members = new List<SetMember>(current?.Members?.Count ?? 0);
        foreach (var existing in current?.Members ?? [])
        {
            if (Identity(existing.Value) != identity)
            {
                members.Add(existing);
                continue;
            }

            var left = existing.Tags.Where(t => !observedTags.Contains(t)).ToList();
            if (left.Count > 0)
            {
                members.Add(existing with { Tags = left });
            }
        }

        return new StoredEntry { Policy = StatePolicy.Set, Version = (current?.Version ?? 0) + 1, Members = members };
    }

    /// <summary>append: inserts by sequence and keeps the newest <paramref name="cap"/> entries.</summary>
    public static StoredEntry Append(StoredEntry? current, long seq, JsonElement value, int cap)
    {
        var items = new List<AppendItem>((current?.Items?.Count ?? 0) + 1);
        items.AddRange(current?.Items ?? []);
        var at = items.Count;
        while (at > 0 && items[at - 1].Seq > seq)
        {
            at--;
        }

        items.Insert(at, new AppendItem(seq, value));
        if (items.Count > cap)
        {
            items.RemoveRange(0, items.Count - cap);
        }

        return new StoredEntry { Policy = StatePolicy.Append, Version = (current?.Version ?? 0) + 1, Items = items };
    }

    /// <summary>The tags of a set member as stored (what an observed-remove removes).</summary>
    public static IReadOnlyList<string> TagsOf(StoredEntry? entry, JsonElement member)
    {
        var identity = Identity(member);
        return entry?.Members?.FirstOrDefault(m => Identity(m.Value) == identity)?.Tags ?? [];
    }

    /// <summary>The value a plugin reads: counters as numbers, sets and logs as arrays.</summary>
    public static JsonElement Read(StoredEntry entry)
    {
        switch (entry.Policy)
        {
            case StatePolicy.Counter:
                return Build(writer => writer.WriteNumberValue(entry.Count));
            case StatePolicy.Set:
                // Members in the order of their first addition, so every reader sees the same order.
                var members = (entry.Members ?? []).OrderBy(m => m.Tags.Min(TagOrder)).ThenBy(m => Identity(m.Value), StringComparer.Ordinal);
                return Build(writer =>
                {
                    writer.WriteStartArray();
                    foreach (var member in members)
                    {
                        member.Value.WriteTo(writer);
                    }

                    writer.WriteEndArray();
                });
            case StatePolicy.Append:
                return Build(writer =>
                {
                    writer.WriteStartArray();
                    foreach (var item in entry.Items ?? [])
                    {
                        item.Value.WriteTo(writer);
                    }

                    writer.WriteEndArray();
                });
            default:
                return entry.Value ?? Build(static writer => writer.WriteNullValue());
        }
    }

    /// <summary>Set members are the same when their compact JSON text is the same.</summary>
    public static string Identity(JsonElement value) => value.ValueKind == JsonValueKind.String ? "s:" + value.GetString() : value.GetRawText();

    /// <summary>A tag unique in the conversation: the version that applied the write, and its place in the batch.</summary>
    public static string Tag(long version, int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{version}.{index}");

    private static (long, long) TagOrder(string tag)
    {
        var dot = tag.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && long.TryParse(tag.AsSpan(0, dot), System.Globalization.CultureInfo.InvariantCulture, out var version)
            && long.TryParse(tag.AsSpan(dot + 1), System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? (version, index)
            : (long.MaxValue, long.MaxValue);
    }

    private static JsonElement Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
