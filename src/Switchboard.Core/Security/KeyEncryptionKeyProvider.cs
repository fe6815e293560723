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
        var created = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only from the moment the file exists.
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, fileOptions);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another replica (or stdio process) starting on the same fresh folder may have created the file a moment ago
            // and not written it yet: give it a moment before calling the file damaged. (Read at once, a replica used to
            // refuse to start on a half-written file.) Writing a temporary file and moving it into place does not work
            // instead: File.Move without overwrite let two replicas each keep a different key in the attack suite's race
            // (tried twice; KeyEncryptionKeyRaceTests failed every run). There is no other process's signal to wait on
            // short of native file locks, so this bounded poll (at most 1 s, only when two processes create the key at
            // the same moment) stays.
            for (var attempt = 0; ; attempt++)
            {
                var existing = File.ReadAllBytes(path);
                if (existing.Length == 32)
                {
                    return Durable(existing, path);
                }

                if (existing.Length > 32 || attempt == 100)
                {
                    throw new SwitchboardStartupException($"The key file {path} is damaged (expected 32 bytes).");
                }

                Thread.Sleep(10);
            }
        }

        try
        {
            using (stream)
            {
                stream.Write(created);
                stream.Flush();
                // Every signing key in the database is encrypted with this key: a crash must not leave the name of an
                // empty file behind while the database keeps rows only this key opens.
                Storage.DurableFile.SyncFile(stream.SafeFileHandle, path);
            }

            Storage.DurableFile.SyncDirectory(Path.GetDirectoryName(path)!);
            return created;
        }
        catch (IOException ex)
        {
            // The start stops before anything is encrypted with it. The file stays: a replica starting at the same moment
            // may already have read it.
            throw new SwitchboardStartupException($"Could not create the key-encryption key: {ex.Message}");
        }
    }

    /// <summary>
    /// An existing key file is flushed before anything is encrypted with it: the start that created it may have stopped
    /// because the disk refused it, or another replica may not have flushed it yet. Once per start.
    /// </summary>
    private static byte[] Durable(byte[] key, string path)
    {
        try
        {
            // Opened for writing where it can be (Windows flushes only such handles; some network file systems refuse fsync
            // on a read-only descriptor), else for reading (a read-only file or mount: Linux flushes that too).
            Microsoft.Win32.SafeHandles.SafeFileHandle? handle;
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
            {
                handle = OperatingSystem.IsWindows() ? null : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            }

            if (handle is not null)
            {
                using (handle)
                {
                    Storage.DurableFile.SyncFile(handle, path);
                }
            }

            Storage.DurableFile.SyncDirectory(Path.GetDirectoryName(path)!);
            return key;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SwitchboardStartupException($"Could not make the key-encryption key durable: {ex.Message}");
        }
    }
}
