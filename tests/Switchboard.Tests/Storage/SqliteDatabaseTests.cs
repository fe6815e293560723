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
    public async Task Initialize_ManyAtOnceOnAFreshFolder_AllSucceedAndEachMigrationIsAppliedOnce()
    {
        using var root = new TemporaryDirectory();
        var databases = Enumerable.Range(0, 8).Select(_ => Create(root.Path)).ToList();

        await Task.WhenAll(databases.Select(d => Task.Run(() => d.InitializeAsync(TestContext.Current.CancellationToken))));

        Assert.Single(databases.Select(d => d.InstallationId).Distinct());
        await using var connection = await databases[0].OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations;";
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        Assert.Equal(SqliteDatabase.Migrations.Count, reader.GetInt32(0));
        Assert.Equal(SqliteDatabase.Migrations.Count, reader.GetInt32(1));
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
