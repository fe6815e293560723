using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Security;

/// <summary>
/// Encrypts private signing keys at rest with AES-256-GCM under a key-encryption key (KEK). The key id is bound as
/// associated data, so a ciphertext moved to another key's row does not decrypt.
/// </summary>
internal sealed class KeyEncryptor(byte[] keyEncryptionKey)
{
    private const byte Format = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _kek = keyEncryptionKey.Length == 32
        ? keyEncryptionKey
        : throw new ArgumentException("The key-encryption key must be 32 bytes.", nameof(keyEncryptionKey));

    public byte[] Encrypt(string kid, byte[] plaintext)
    {
        var output = new byte[1 + NonceSize + TagSize + plaintext.Length];
        output[0] = Format;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_kek, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize + TagSize), output.AsSpan(1 + NonceSize, TagSize), Encoding.UTF8.GetBytes(kid));
        return output;
    }

    public byte[] Decrypt(string kid, byte[] ciphertext)
    {
        if (ciphertext.Length < 1 + NonceSize + TagSize || ciphertext[0] != Format)
        {
            throw new CryptographicException($"The stored private key of {kid} is not in a known format.");
        }

        var plaintext = new byte[ciphertext.Length - 1 - NonceSize - TagSize];
        using var aes = new AesGcm(_kek, TagSize);
        aes.Decrypt(
            ciphertext.AsSpan(1, NonceSize),
            ciphertext.AsSpan(1 + NonceSize + TagSize),
            ciphertext.AsSpan(1 + NonceSize, TagSize),
            plaintext,
            Encoding.UTF8.GetBytes(kid));
        return plaintext;
    }
}
