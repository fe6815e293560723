using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Storage;

namespace Switchboard.Security;

/// <summary>An OAuth client allowed to use the <c>client_credentials</c> grant.</summary>
public sealed record OAuthClient(string ClientId, string AllowedScopes, string? Tenant, IReadOnlyList<string> Roles, DateTimeOffset CreatedAt);

/// <summary>
/// Registered OAuth clients. Secrets are generated here (256 random bits), shown once, and stored only as a salted
/// PBKDF2-SHA256 hash; verification compares in constant time.
/// </summary>
public sealed class OAuthClientStore(SqliteDatabase database, TimeProvider timeProvider)
{
    private const int Iterations = 100_000;
    private const string SecretPrefix = "sbs_";

    /// <summary>Registers a client and returns its secret (the only time it is visible).</summary>
    public async Task<string> AddAsync(string clientId, string allowedScopes, string? tenant, IReadOnlyList<string> roles, CancellationToken cancellationToken)
    {
        var secret = SecretPrefix + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Hash(secret, salt, Iterations);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO oauth_clients (client_id, secret_hash, salt, iterations, allowed_scopes, tenant, roles, created_at)
            VALUES ($id, $hash, $salt, $iterations, $scopes, $tenant, $roles, $created);
            """;
        command.Parameters.AddWithValue("$id", clientId);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$salt", salt);
        command.Parameters.AddWithValue("$iterations", Iterations);
        command.Parameters.AddWithValue("$scopes", allowedScopes);
        command.Parameters.AddWithValue("$tenant", (object?)tenant ?? DBNull.Value);
        command.Parameters.AddWithValue("$roles", string.Join(' ', roles));
        command.Parameters.AddWithValue("$created", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new InvalidOperationException($"A client with id '{clientId}' already exists.", ex);
        }

        return secret;
    }

    public async Task<IReadOnlyList<OAuthClient>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT client_id, allowed_scopes, tenant, roles, created_at FROM oauth_clients ORDER BY client_id;";
        var clients = new List<OAuthClient>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            clients.Add(Read(reader));
        }

        return clients;
    }

    public async Task<bool> RemoveAsync(string clientId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM oauth_clients WHERE client_id = $id;";
        command.Parameters.AddWithValue("$id", clientId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The client when the secret matches; null otherwise (unknown client and wrong secret look the same).</summary>
    public async Task<OAuthClient?> AuthenticateAsync(string clientId, string secret, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT client_id, allowed_scopes, tenant, roles, created_at, secret_hash, salt, iterations FROM oauth_clients WHERE client_id = $id;";
        command.Parameters.AddWithValue("$id", clientId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            // Spend the same effort as a real check, so timing does not tell which client ids exist.
            _ = Hash(secret, new byte[16], Iterations);
            return null;
        }

        var expected = (byte[])reader.GetValue(5);
        var actual = Hash(secret, (byte[])reader.GetValue(6), reader.GetInt32(7));
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? Read(reader) : null;
    }

    private static OAuthClient Read(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));

    private static byte[] Hash(string secret, byte[] salt, int iterations)
        => Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, 32);
}
