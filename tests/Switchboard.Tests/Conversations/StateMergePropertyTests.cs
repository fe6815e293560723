using System.Text.Json;
using CsCheck;
using Switchboard.Conversations;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// The merge rules of <c>counter</c>, <c>lww</c>, <c>set</c> and <c>append</c> converge: replicas that apply the same
/// stamped writes in any order (any causal order, for set removals) end with the same value.
/// </summary>
public sealed class StateMergePropertyTests
{
    private const long Iterations = 300;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static List<T> Shuffled<T>(IReadOnlyList<T> items, int seed)
    {
        var copy = items.ToList();
        new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(copy));
        return copy;
    }

    [Fact]
    public void Counter_AnyOrder_AddsUpExactly()
        => Gen.Select(Gen.Long[-1_000_000, 1_000_000].List[0, 40], Gen.Int, Gen.Int).Sample((deltas, seedA, seedB) =>
        {
            long Apply(IEnumerable<long> order)
            {
                StoredEntry? entry = null;
                foreach (var delta in order)
                {
                    Assert.True(StateMerge.TryIncrement(entry, delta, out var next));
                    entry = next;
                }

                return entry?.Count ?? 0;
            }

            Assert.Equal(deltas.Sum(), Apply(Shuffled(deltas, seedA)));
            Assert.Equal(deltas.Sum(), Apply(Shuffled(deltas, seedB)));
        }, iter: Iterations);

    [Fact]
    public void LastWriterWins_AnyOrder_ConvergesOnTheLargestStampThenWriter()
        => Gen.Select(Gen.Select(Gen.Long[0, 20], Gen.Int[0, 3], Gen.Int[0, 1000]).List[1, 30], Gen.Int, Gen.Int).Sample((writes, seedA, seedB) =>
        {
            string Apply(IEnumerable<(long Stamp, int Writer, int Value)> order)
            {
                StoredEntry? entry = null;
                foreach (var (stamp, writer, value) in order)
                {
                    entry = StateMerge.LastWriterWins(entry, Json($"\"{writer}:{value}\""), stamp, $"plugin-{writer}");
                }

                return StateMerge.Read(entry!).GetString()!;
            }

            // Equal (stamp, writer) pairs are one write in practice (a writer stamps each write anew), so keep one.
            var distinct = writes.GroupBy(w => (w.Item1, w.Item2)).Select(g => g.First()).ToList();
            var a = Apply(Shuffled(distinct, seedA));
            var b = Apply(Shuffled(distinct, seedB));
            var expected = distinct.OrderBy(w => w.Item1).ThenBy(w => $"plugin-{w.Item2}", StringComparer.Ordinal).Last();
            Assert.Equal(a, b);
            Assert.Equal($"{expected.Item2}:{expected.Item3}", a);
        }, iter: Iterations);

    [Fact]
    public void ObservedRemoveSet_AnyCausalOrder_ConvergesAndAddWinsOverAnUnseenAdd()
    {
        // An operation: an add of a member, or a remove of a member that observed some earlier adds of it.
        var genOps = Gen.Select(Gen.Int[0, 3], Gen.Bool, Gen.Int).List[1, 30];
        Gen.Select(genOps, Gen.Int, Gen.Int).Sample((raw, seedA, seedB) =>
        {
            var ops = new List<SetOp>();
            for (var i = 0; i < raw.Count; i++)
            {
                var (member, isRemove, pick) = raw[i];
                var tag = StateMerge.Tag(i + 1, 0);
                if (!isRemove)
                {
                    ops.Add(new SetOp(i, member, tag, null));
                    continue;
                }

                var random = new Random(pick);
                var observed = ops.Where(o => o.Observed is null && o.Member == member && random.Next(2) == 0).Select(o => o.Index).ToList();
                ops.Add(new SetOp(i, member, tag, observed));
            }

            var a = ApplyInCausalOrder(ops, seedA);
            var b = ApplyInCausalOrder(ops, seedB);
            Assert.Equal(a, b);

            // The model: a member is present when one of its adds was observed by no remove.
            var removed = ops.Where(o => o.Observed is not null).SelectMany(o => o.Observed!).ToHashSet();
            var present = ops.Where(o => o.Observed is null && !removed.Contains(o.Index)).Select(o => o.Member).Distinct().Order().ToList();
            Assert.Equal(present, JsonSerializer.Deserialize<List<int>>(a)!.Order().ToList());
        }, iter: Iterations);
    }

    [Fact]
    public void Append_AnyOrder_KeepsSequenceOrder()
        => Gen.Select(Gen.Int[1, 40], Gen.Int, Gen.Int).Sample((count, seedA, seedB) =>
        {
            var items = Enumerable.Range(1, count).Select(i => ((long)i << 16, i)).ToList();
            string Apply(IEnumerable<(long Seq, int Value)> order)
            {
                StoredEntry? entry = null;
                foreach (var (seq, value) in order)
                {
                    entry = StateMerge.Append(entry, seq, Json(value.ToString(System.Globalization.CultureInfo.InvariantCulture)), 1000);
                }

                return StateMerge.Read(entry!).GetRawText();
            }

            var expected = "[" + string.Join(",", Enumerable.Range(1, count)) + "]";
            Assert.Equal(expected, Apply(Shuffled(items, seedA)));
            Assert.Equal(expected, Apply(Shuffled(items, seedB)));
        }, iter: Iterations);

    private static string ApplyInCausalOrder(List<SetOp> ops, int seed)
    {
        // A random linear extension: a remove becomes ready once every add it observed is applied.
        var random = new Random(seed);
        var pending = ops.ToList();
        var applied = new HashSet<int>();
        StoredEntry? entry = null;
        while (pending.Count > 0)
        {
            var ready = pending.Where(o => o.Observed is null || o.Observed.All(applied.Contains)).ToList();
            var op = ready[random.Next(ready.Count)];
            pending.Remove(op);
            applied.Add(op.Index);
            var member = Json(op.Member.ToString(System.Globalization.CultureInfo.InvariantCulture));
            entry = op.Observed is null
                ? StateMerge.SetAdd(entry, member, op.Tag)
                : StateMerge.SetRemove(entry, member, op.Observed.Select(i => StateMerge.Tag(i + 1, 0)).ToHashSet());
        }

        return entry is null ? "[]" : StateMerge.Read(entry).GetRawText();
    }

    private sealed record SetOp(int Index, int Member, string Tag, List<int>? Observed);
}
