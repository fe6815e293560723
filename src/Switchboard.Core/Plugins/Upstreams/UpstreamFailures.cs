namespace Switchboard.Plugins.Upstreams;

// These exceptions never leave the upstream folder: the supervisor turns each into an isError result whose message is
// written for the model (or, for timeouts, into the cancellation the invocation handler reports as a timeout).

/// <summary>The upstream cannot take calls now (failed to start, waiting to restart, shutting down). The circuit breaker does not count it.</summary>
internal sealed class UpstreamUnavailableException : Exception
{
    public UpstreamUnavailableException(string message)
        : base(message)
    {
    }

    public UpstreamUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A call failed at transport level: the process crashed, the connection broke, or the answer was unreadable. Counted as a failure.</summary>
internal sealed class UpstreamCallFailedException : Exception
{
    public UpstreamCallFailedException(string message)
        : base(message)
    {
    }

    public UpstreamCallFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A call overran its deadline (not a caller's cancellation). Counted as a failure.</summary>
internal sealed class UpstreamTimeoutException : Exception
{
    public UpstreamTimeoutException()
        : base("The upstream call timed out.")
    {
    }

    public UpstreamTimeoutException(string message)
        : base(message)
    {
    }

    public UpstreamTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
