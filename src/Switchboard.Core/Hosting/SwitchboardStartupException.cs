namespace Switchboard.Hosting;

/// <summary>The server cannot start as asked (for example a non-loopback address without authentication). The message is for the operator.</summary>
public sealed class SwitchboardStartupException(string message) : Exception(message);
