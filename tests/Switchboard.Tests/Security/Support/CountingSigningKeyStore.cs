using Switchboard.Security;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// The real SQLite key store with a count of its loads in front, so a test can see how often the ring went back to the
/// store (an unknown-<c>kid</c> flood must not turn into a flood of reloads). Not a fake: every call reaches SQLite.
/// </summary>
public sealed class CountingSigningKeyStore(ISigningKeyStore inner) : ISigningKeyStore
{
    private int _loads;

    public int Loads => Volatile.Read(ref _loads);

    public Task<KeyRingState> LoadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        return inner.LoadAsync(cancellationToken);
    }

    public Task<bool> TryCommitAsync(long expectedVersion, IReadOnlyList<SigningKeyRecord> upserts, IReadOnlyList<string> deletions, CancellationToken cancellationToken)
        => inner.TryCommitAsync(expectedVersion, upserts, deletions, cancellationToken);
}
