using System.Text;
using Switchboard.Conversations;

namespace Switchboard.Tests.Conversations;

/// <summary>
/// The contract every <see cref="IConversationStore"/> must keep. An adapter (SQLite here; Redis and PostgreSQL later)
/// subclasses this and supplies a fresh, empty store per test; the suite needs nothing else.
/// </summary>
public abstract class ConversationStoreContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset s_now = new(2026, 7, 28, 12, 0, 0, TimeSpan.Zero);

    protected IConversationStore Store { get; private set; } = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract ValueTask<IConversationStore> CreateStoreAsync(CancellationToken cancellationToken);

    /// <summary>Releases what <see cref="CreateStoreAsync"/> created.</summary>
    protected virtual ValueTask DisposeStoreAsync() => ValueTask.CompletedTask;

    public async ValueTask InitializeAsync() => Store = await CreateStoreAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await DisposeStoreAsync();
        GC.SuppressFinalize(this);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Doc(string text) => Encoding.UTF8.GetBytes(text);

    private static ConversationWrite Write(string id, long expected, string document, OperationAppend? operation = null, DateTimeOffset? expires = null)
        => new(id, expected, "owner-a", expires ?? s_now.AddHours(1), Doc(document), operation);

    [Fact]
    public async Task Get_OfUnknownConversation_IsNull()
        => Assert.Null(await Store.GetAsync("missing", Token));

    [Fact]
    public async Task Create_ThenGet_ReturnsVersionOneWithOwnerExpiryAndDocument()
    {
        Assert.Equal(StoreWriteStatus.Written, await Store.CompareAndSwapAsync(Write("c1", 0, "{\"a\":1}"), Token));

        var stored = await Store.GetAsync("c1", Token);
        Assert.NotNull(stored);
        Assert.Equal(1, stored.Version);
        Assert.Equal("owner-a", stored.Owner);
        Assert.Equal(s_now.AddHours(1), stored.ExpiresAt);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(stored.Document.Span));
    }

    [Fact]
    public async Task Create_OfExistingConversation_IsAVersionMismatch()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "first"), Token);

        Assert.Equal(StoreWriteStatus.VersionMismatch, await Store.CompareAndSwapAsync(Write("c1", 0, "second"), Token));
        Assert.Equal("first", Encoding.UTF8.GetString((await Store.GetAsync("c1", Token))!.Document.Span));
    }

    [Fact]
    public async Task CompareAndSwap_OnTheCurrentVersion_WritesTheNextVersion()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);

        Assert.Equal(StoreWriteStatus.Written, await Store.CompareAndSwapAsync(Write("c1", 1, "v2"), Token));
        Assert.Equal(StoreWriteStatus.Written, await Store.CompareAndSwapAsync(Write("c1", 2, "v3"), Token));

        var stored = await Store.GetAsync("c1", Token);
        Assert.Equal(3, stored!.Version);
        Assert.Equal("v3", Encoding.UTF8.GetString(stored.Document.Span));
    }

    [Fact]
    public async Task CompareAndSwap_OnAStaleVersion_ChangesNothing()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);
        await Store.CompareAndSwapAsync(Write("c1", 1, "v2"), Token);

        Assert.Equal(StoreWriteStatus.VersionMismatch, await Store.CompareAndSwapAsync(Write("c1", 1, "stale", new OperationAppend("op-stale", s_now, Doc("r"))), Token));

        var stored = await Store.GetAsync("c1", Token);
        Assert.Equal(2, stored!.Version);
        Assert.Equal("v2", Encoding.UTF8.GetString(stored.Document.Span));
        Assert.Null(await Store.GetOperationAsync("c1", "op-stale", Token));
    }

    [Fact]
    public async Task CompareAndSwap_OfAMissingConversation_IsAVersionMismatch()
        => Assert.Equal(StoreWriteStatus.VersionMismatch, await Store.CompareAndSwapAsync(Write("missing", 3, "x"), Token));

    [Fact]
    public async Task CompareAndSwap_AppendsTheOperationUnderTheNewVersionAsSequence()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);
        await Store.CompareAndSwapAsync(Write("c1", 1, "v2", new OperationAppend("op-1", s_now, Doc("result-1"))), Token);

        var operation = await Store.GetOperationAsync("c1", "op-1", Token);
        Assert.NotNull(operation);
        Assert.Equal(2, operation.Sequence);
        Assert.Equal("result-1", Encoding.UTF8.GetString(operation.Result.Span));
        Assert.Null(await Store.GetOperationAsync("other", "op-1", Token));
    }

    [Fact]
    public async Task CompareAndSwap_WithARecordedOperationId_WritesNothing()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);
        await Store.CompareAndSwapAsync(Write("c1", 1, "v2", new OperationAppend("op-1", s_now, Doc("first"))), Token);

        Assert.Equal(StoreWriteStatus.DuplicateOperation, await Store.CompareAndSwapAsync(Write("c1", 2, "v3", new OperationAppend("op-1", s_now, Doc("second"))), Token));

        var stored = await Store.GetAsync("c1", Token);
        Assert.Equal(2, stored!.Version);
        Assert.Equal("v2", Encoding.UTF8.GetString(stored.Document.Span));
        Assert.Equal("first", Encoding.UTF8.GetString((await Store.GetOperationAsync("c1", "op-1", Token))!.Result.Span));
    }

    [Fact]
    public async Task ConcurrentCompareAndSwaps_OnOneVersion_ExactlyOneWins()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Store.CompareAndSwapAsync(Write("c1", 1, $"writer-{i}"), Token).AsTask()));

        Assert.Equal(1, attempts.Count(s => s == StoreWriteStatus.Written));
        Assert.Equal(2, (await Store.GetAsync("c1", Token))!.Version);
    }

    [Fact]
    public async Task Touch_MovesExpiryForwardOnly()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);

        Assert.True(await Store.TouchAsync("c1", s_now.AddHours(3), Token));
        Assert.True(await Store.TouchAsync("c1", s_now.AddHours(2), Token));
        Assert.False(await Store.TouchAsync("missing", s_now.AddHours(2), Token));

        var stored = await Store.GetAsync("c1", Token);
        Assert.Equal(s_now.AddHours(3), stored!.ExpiresAt);
        Assert.Equal(1, stored.Version);
    }

    [Fact]
    public async Task Expire_DeletesDueConversationsWithTheirOperations_AndKeepsTheRest()
    {
        await Store.CompareAndSwapAsync(Write("due", 0, "v1", expires: s_now.AddMinutes(-1)), Token);
        await Store.CompareAndSwapAsync(Write("due", 1, "v2", new OperationAppend("op-due", s_now, Doc("r")), expires: s_now.AddMinutes(-1)), Token);
        await Store.CompareAndSwapAsync(Write("live", 0, "v1", expires: s_now.AddMinutes(30)), Token);

        var expired = await Store.ExpireAsync(s_now, s_now.AddDays(-1), 100, Token);

        Assert.Equal(["due"], expired);
        Assert.Null(await Store.GetAsync("due", Token));
        Assert.Null(await Store.GetOperationAsync("due", "op-due", Token));
        Assert.NotNull(await Store.GetAsync("live", Token));
    }

    [Fact]
    public async Task Expire_ForgetsOperationsRecordedBeforeTheRetention_ButKeepsTheConversation()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);
        await Store.CompareAndSwapAsync(Write("c1", 1, "v2", new OperationAppend("old", s_now.AddDays(-2), Doc("r"))), Token);
        await Store.CompareAndSwapAsync(Write("c1", 2, "v3", new OperationAppend("new", s_now, Doc("r"))), Token);

        await Store.ExpireAsync(s_now, s_now.AddDays(-1), 100, Token);

        Assert.Null(await Store.GetOperationAsync("c1", "old", Token));
        Assert.NotNull(await Store.GetOperationAsync("c1", "new", Token));
        Assert.Equal(3, (await Store.GetAsync("c1", Token))!.Version);
    }

    [Fact]
    public async Task Expire_HonoursTheLimit()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.CompareAndSwapAsync(Write($"due-{i}", 0, "v", expires: s_now.AddMinutes(-i - 1)), Token);
        }

        Assert.Equal(2, (await Store.ExpireAsync(s_now, s_now.AddDays(-1), 2, Token)).Count);
        Assert.Equal(3, (await Store.ExpireAsync(s_now, s_now.AddDays(-1), 10, Token)).Count);
    }

    [Fact]
    public async Task Delete_RemovesTheConversationAndItsOperations()
    {
        await Store.CompareAndSwapAsync(Write("c1", 0, "v1"), Token);
        await Store.CompareAndSwapAsync(Write("c1", 1, "v2", new OperationAppend("op", s_now, Doc("r"))), Token);

        Assert.True(await Store.DeleteAsync("c1", Token));
        Assert.False(await Store.DeleteAsync("c1", Token));
        Assert.Null(await Store.GetAsync("c1", Token));
        Assert.Null(await Store.GetOperationAsync("c1", "op", Token));

        // A deleted conversation can be created again from scratch.
        Assert.Equal(StoreWriteStatus.Written, await Store.CompareAndSwapAsync(Write("c1", 0, "again"), Token));
        Assert.Equal(1, (await Store.GetAsync("c1", Token))!.Version);
    }
}
