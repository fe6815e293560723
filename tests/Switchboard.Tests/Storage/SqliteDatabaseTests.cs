using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Storage;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Storage;

public class SqliteDatabaseTests
{
    private static SqliteDatabase Create(string directory)
        => new(Options.Create(new SwitchboardOptions { DataDirectory = directory }), TimeProvider.System, NullLogger<SqliteDatabase>.Instance);

    [Fact]
    public async Task Initialize_CreatesFolderAndFile_AppliesMigrationsOnce_AndKeepsTheInstallationId()
    {
        using var root = new TemporaryDirectory();
        var folder = Path.Combine(root.Path, "a", "b");

        var first = Create(folder);
        await first.InitializeAsync(TestContext.Current.CancellationToken);
        var second = Create(folder);
        await second.InitializeAsync(TestContext.Current.CancellationToken);

        Assert.True(File.Exists(Path.Combine(folder, SqliteDatabase.FileName)));
        Assert.NotNull(first.InstallationId);
        Assert.Equal(first.InstallationId, second.InstallationId);

        await using var connection = await second.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations;";
        Assert.Equal((long)SqliteDatabase.Migrations.Count, (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Initialize_UnwritableLocation_Fails()
    {
        using var root = new TemporaryDirectory();
        var file = Path.Combine(root.Path, "occupied");
        await File.WriteAllTextAsync(file, "not a folder", TestContext.Current.CancellationToken);

        await Assert.ThrowsAnyAsync<IOException>(() => Create(Path.Combine(file, "data")).InitializeAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task OpenConnection_BeforeInitialize_Throws()
        => await Assert.ThrowsAsync<InvalidOperationException>(() => Create("unused").OpenConnectionAsync(TestContext.Current.CancellationToken));
}
