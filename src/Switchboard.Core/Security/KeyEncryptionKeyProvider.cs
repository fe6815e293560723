using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Security;

/// <summary>
/// Supplies the key-encryption key for private signing keys: from <c>Switchboard:Security:Keys:EncryptionKey</c> (base64,
/// 32 bytes, resolvable from <c>{env:NAME}</c> or <c>{file:/path}</c>), or else from a key file created on first use in
/// the data folder with owner-only permissions.
/// </summary>
public sealed class KeyEncryptionKeyProvider(IOptions<SecurityOptions> security, IOptions<SwitchboardOptions> switchboard)
{
    public const string KeyFileName = "signing-keys.kek";

    private readonly Lazy<KeyEncryptor> _encryptor = new(() => new KeyEncryptor(Load(security.Value, switchboard.Value)));

    internal KeyEncryptor Encryptor => _encryptor.Value;

    private static byte[] Load(SecurityOptions security, SwitchboardOptions switchboard)
    {
        if (!string.IsNullOrWhiteSpace(security.Keys.EncryptionKey))
        {
            var text = SecretValue.Resolve(security.Keys.EncryptionKey, "Switchboard:Security:Keys:EncryptionKey");
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(text.Trim());
            }
            catch (FormatException)
            {
                throw new SwitchboardStartupException("Switchboard:Security:Keys:EncryptionKey is not base64.");
            }

            return bytes.Length == 32 ? bytes : throw new SwitchboardStartupException("Switchboard:Security:Keys:EncryptionKey must decode to 32 bytes.");
        }

        var path = Path.GetFullPath(Path.Combine(switchboard.DataDirectory, KeyFileName));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            var created = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                // Owner-only from the moment the file exists.
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(path, fileOptions);
            stream.Write(created);
            return created;
        }
        catch (IOException) when (File.Exists(path))
        {
            var existing = File.ReadAllBytes(path);
            return existing.Length == 32 ? existing : throw new SwitchboardStartupException($"The key file {path} is damaged (expected 32 bytes).");
        }
    }
}
