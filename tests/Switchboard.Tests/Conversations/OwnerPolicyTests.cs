using System.Text.Json;
using Switchboard.Conversations;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// The <c>owner</c> policy: the owning plugin writes a key, every other plugin that declares it may only read it. A
/// refused write refuses the whole batch, so a call that also wrote other keys saves none of them.
/// </summary>
public sealed class OwnerPolicyTests
{
    private static readonly StateKeyDeclaration OrderKey = new("order", StatePolicy.Owner, Owner: "orders");
    private static readonly StateKeyDeclaration Tags = new("case.tags", StatePolicy.Set);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static StateCommitResult Apply(ConversationDocument document, string plugin, params StateWrite[] writes)
    {
        var declaration = new PluginConversation(plugin, [OrderKey, Tags]);
        var (_, result) = StateBatchApplier.Apply(document, version: 3, new StateBatch(plugin, writes), declaration, new ConversationOptions(), nowMilliseconds: 1_000);
        return result;
    }

    [Fact]
    public void TheOwner_Writes_AndAnotherPlugin_IsRefusedWithoutSavingAnythingOfItsBatch()
    {
        var document = new ConversationDocument();

        var byOwner = Apply(document, "orders", new StateWrite("order", StateWriteKind.Set, Json("""{"id":"A-1001"}""")));
        Assert.True(byOwner.Committed);

        var byOther = Apply(
            document,
            "support",
            new StateWrite("case.tags", StateWriteKind.Add, Json("\"vip\"")),
            new StateWrite("order", StateWriteKind.Set, Json("""{"id":"forged"}""")));
        Assert.False(byOther.Committed);
        Assert.Equal(StateFailureKind.Forbidden, byOther.FailureKind);
        Assert.Contains("owned by plugin 'orders'", byOther.Message, StringComparison.Ordinal);
        Assert.Empty(byOther.Versions);
    }
}
