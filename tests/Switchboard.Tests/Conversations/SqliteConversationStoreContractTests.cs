using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Conversations;
using Switchboard.Conversations.Sqlite;
using Switchboard.Hosting;
using Switchboard.Storage;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Conversations;

/// <summary>The store contract on the embedded SQLite adapter (a real database file, migrated as at start).</summary>
public sealed class SqliteConversationStoreContractTests : ConversationStoreContractTests
{
    private readonly TemporaryDirectory _folder = new();

    protected override async ValueTask<IConversationStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        var database = new SqliteDatabase(Options.Create(new SwitchboardOptions { DataDirectory = _folder.Path }), TimeProvider.System, NullLogger<SqliteDatabase>.Instance);
        await database.InitializeAsync(cancellationToken);
        return new SqliteConversationStore(database);
    }

    protected override ValueTask DisposeStoreAsync()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}
