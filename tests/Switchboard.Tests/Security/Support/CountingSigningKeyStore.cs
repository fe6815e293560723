using Switchboard.Security;

namespace Switchboard.Tests.Security.Support;

/// <summary>
/// The real SQLite key store with a count of its loads in front, so a test can see how often the ring went back to the
/// store (an unknown-<c>kid</c> flood must not turn into a flood of reloads). Not a fake: every call reaches SQLite.
/// <see cref="LoadDelay"/> makes a load slow (a busy disk or a remote store), to widen the window in which other requests
/// meet a reload in flight.
/// </summary>
public sealed class CountingSigningKeyStore(ISigningKeyStore inner) : ISigningKeyStore
{
    private int _loads;

    public int Loads => Volatile.Read(ref _loads);

    public TimeSpan LoadDelay { get; set; }

    public async Task<KeyRingState> LoadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        if (LoadDelay > TimeSpan.Zero)
        {
            await Task.Delay(LoadDelay, cancellationToken);
        }

        return await inner.LoadAsync(cancellationToken);
    }

    public Task<bool> TryCommitAsync(long expectedVersion, IReadOnlyList<SigningKeyRecord> upserts, IReadOnlyList<string> deletions, CancellationToken cancellationToken)
        => inner.TryCommitAsync(expectedVersion, upserts, deletions, cancellationToken);
}
