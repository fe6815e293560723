using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Switchboard.Compliance.Masking;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Storage;

namespace Switchboard.Compliance;

/// <summary>Holds the pseudonym key once it is loaded at start (see <see cref="ComplianceKeyLoader"/>).</summary>
public sealed class ComplianceKeys
{
    private volatile Pseudonymizer? _pseudonymizer;

    public Pseudonymizer Pseudonymizer => _pseudonymizer ?? throw new InvalidOperationException("The compliance key has not been loaded yet.");

    public bool IsLoaded => _pseudonymizer is not null;

    public void Use(byte[] key) => _pseudonymizer = new Pseudonymizer(key);
}

/// <summary>
/// Loads the key of the <c>hash</c> action and audit digests: <c>Switchboard:Compliance:HashKey</c> when set, else a
/// random key created on first start and kept in the database's <c>meta</c> table, encrypted with the same
/// key-encryption key as the signing keys.
/// </summary>
internal sealed class ComplianceKeyLoader(IOptions<ComplianceOptions> options, SqliteDatabase database, KeyEncryptionKeyProvider encryption, ComplianceKeys keys)
{
    internal const string MetaKey = "compliance_hash_key";
    private const string KeyId = "compliance-hash-key";

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(options.Value.HashKey))
        {
            var text = SecretValue.Resolve(options.Value.HashKey, $"{ComplianceOptions.SectionName}:HashKey");
            byte[] configured;
            try
            {
                configured = Convert.FromBase64String(text.Trim());
            }
            catch (FormatException)
            {
                throw new SwitchboardStartupException($"{ComplianceOptions.SectionName}:HashKey is not base64.");
            }

            keys.Use(configured.Length >= 32 ? configured : throw new SwitchboardStartupException($"{ComplianceOptions.SectionName}:HashKey must decode to at least 32 bytes."));
            return;
        }

        var stored = await database.GetMetaAsync(MetaKey, cancellationToken);
        if (stored is null)
        {
            var created = RandomNumberGenerator.GetBytes(32);
            await using (var connection = await database.OpenConnectionAsync(cancellationToken))
            await using (var insert = connection.CreateCommand())
            {
                // Several processes may start on one fresh data folder at once: the first key written wins for all.
                insert.CommandText = "INSERT OR IGNORE INTO meta (key, value) VALUES ($key, $value);";
                insert.Parameters.AddWithValue("$key", MetaKey);
                insert.Parameters.AddWithValue("$value", Convert.ToBase64String(encryption.Encryptor.Encrypt(KeyId, created)));
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            stored = await database.GetMetaAsync(MetaKey, cancellationToken);
        }

        keys.Use(encryption.Encryptor.Decrypt(KeyId, Convert.FromBase64String(stored!)));
    }
}
