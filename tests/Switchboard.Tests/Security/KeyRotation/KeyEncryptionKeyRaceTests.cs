using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Security;
using Switchboard.Tests.TestSupport;

namespace Switchboard.Tests.Security.KeyRotation;

/// <summary>
/// KEY-11 at its first step: replicas (or several stdio processes) starting together on a fresh shared data folder all
/// create the key-encryption key file at once. Exactly one key must win, and every replica must end up with it: a
/// replica that read the file while the winner was still writing it used to fail to start ("damaged key file").
/// </summary>
public sealed class KeyEncryptionKeyRaceTests
{
    [Fact]
    public async Task KEY_11_ManyReplicasCreatingTheKeyFileAtOnce_AllGetTheSameKey_NoneFails()
    {
        for (var round = 0; round < 25; round++)
        {
            using var data = new TemporaryDirectory();
            var plaintext = new byte[] { 1, 2, 3, 4 };
            using var start = new Barrier(8);
            // Dedicated threads: eight pool threads blocked at the barrier would starve the thread pool that every other
            // test running beside this one needs.
            var ciphertexts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(
                () =>
                {
                    var provider = new KeyEncryptionKeyProvider(Options.Create(new SecurityOptions()), Options.Create(new SwitchboardOptions { DataDirectory = data.Path }));
                    start.SignalAndWait(TestContext.Current.CancellationToken);
                    return provider.Encryptor.Encrypt("kid", plaintext);
                },
                TestContext.Current.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default)));

            // Every replica can read what every other one encrypted: they share one key.
            foreach (var ciphertext in ciphertexts)
            {
                var reader = new KeyEncryptionKeyProvider(Options.Create(new SecurityOptions()), Options.Create(new SwitchboardOptions { DataDirectory = data.Path }));
                Assert.Equal(plaintext, reader.Encryptor.Decrypt("kid", ciphertext));
            }

            Assert.Equal(32, new FileInfo(Path.Combine(data.Path, KeyEncryptionKeyProvider.KeyFileName)).Length);
        }
    }
}
