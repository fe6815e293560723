namespace Switchboard.Transports.Mcp;

/// <summary>
/// The MCP protocol revisions Switchboard serves, newest first. <c>2026-07-28</c> is served statelessly (per-request
/// <c>_meta</c>); the others through the <c>initialize</c> handshake and sessions. The same list is advertised by
/// <c>server/discover</c> and carried by <c>UnsupportedProtocolVersion</c> (-32022) errors.
/// </summary>
public static class ProtocolVersions
{
    public const string Modern = "2026-07-28";
    public const string LatestLegacy = "2025-11-25";

    /// <summary>Every revision served, newest first.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Modern, LatestLegacy, "2025-06-18", "2025-03-26", "2024-11-05"];

    /// <summary>True for revisions that carry their version per request (no handshake, no sessions).</summary>
    public static bool IsModern(string? version) => version is not null && string.CompareOrdinal(version, Modern) >= 0;
}
