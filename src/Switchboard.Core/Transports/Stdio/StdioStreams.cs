namespace Switchboard.Transports.Stdio;

/// <summary>
/// Streams to serve instead of the process's standard input and output, for running the stdio host inside another
/// process (tests). Registered as a singleton; absent in <c>switchboard stdio</c>.
/// </summary>
internal sealed record StdioStreams(Stream Input, Stream Output);
