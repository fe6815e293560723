using System.CommandLine;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Compliance.Audit;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;
using Switchboard.Security;

namespace Switchboard.Hosting.Cli;

/// <summary>
/// <c>switchboard policy show</c>, <c>switchboard audit verify</c>, <c>switchboard audit export</c> and
/// <c>switchboard audit prune</c>: commands against the data folder and configuration a server uses.
/// </summary>
internal static class ComplianceCommands
{
    /// <summary>The exit code of an <c>audit prune</c> whose commit failed: records may or may not have been deleted.</summary>
    internal const int PruneOutcomeUnknown = 3;

    /// <summary>Exit code of <c>audit verify</c> when the log fails verification.</summary>
    public const int VerificationFailed = 1;

    public static IEnumerable<Command> Create()
    {
        yield return Policy();
        yield return Audit();
    }

    private static (Option<string?> Data, Option<string?> Config) Common()
        => (new Option<string?>("--data") { Description = "Data folder of the server (default ./data)." },
            new Option<string?>("--config") { Description = "The server's JSON configuration file." });

    private static Command Policy()
    {
        var (data, config) = Common();
        var show = new Command("show", "Print the detectors, data classes and masking policy in force (defaults plus configuration).") { data, config };
        show.SetAction((parse, ct) => SecurityCommands.RunAsync(parse.GetValue(data), parse.GetValue(config), services =>
        {
            var options = services.Get<IOptions<ComplianceOptions>>().Value;
            Console.Write(PolicyReport.Render(options, services.Get<PiiScanner>()));
            return Task.FromResult(0);
        }, ct));
        var command = new Command("policy", "Inspect the data-masking policy.");
        command.Subcommands.Add(show);
        return command;
    }

    private static Command Audit()
    {
        var command = new Command("audit", "Verify, export and prune the tamper-evident audit log.");

        var (data, config) = Common();
        var checkpoints = new Option<string?>("--checkpoints") { Description = "Folder of exported checkpoints (checkpoints.jsonl, keys.jwks); default the configured Switchboard:Compliance:Audit:ExportDirectory." };
        var trusted = new Option<string?>("--trusted-keys") { Description = "A JWKS file of further trusted public keys (e.g. a saved /.well-known/jwks.json)." };
        var archiveFile = new Option<string?>("--archive") { Description = "Also verify this archive that `audit prune` wrote, against the tiles and chain hash the log kept and the signed checkpoints (with --checkpoints, the off-box ones) inside its range." };
        var verify = new Command("verify", "Recompute every hash and check every signed checkpoint; exit 0 when the log is intact, 1 with the first bad index when not.") { data, config, checkpoints, trusted, archiveFile };
        verify.SetAction((parse, ct) => SecurityCommands.RunAsync(parse.GetValue(data), parse.GetValue(config), async services =>
        {
            var (store, exportDirectory) = Locate(services);
            var folder = parse.GetValue(checkpoints) ?? exportDirectory;
            var problems = new List<string>();
            var exported = AuditVerifier.ReadExported(folder, problems);
            var trustedKeys = ReadKeys(Path.Combine(folder, "keys.jwks"));
            if (parse.GetValue(trusted) is { } file)
            {
                if (!File.Exists(file))
                {
                    await Console.Error.WriteLineAsync($"switchboard: no file {file}");
                    return SwitchboardCommandLine.UsageError;
                }

                trustedKeys.AddRange(ReadKeys(file));
            }

            var ring = services.Get<SigningKeyRing>().State.Keys;
            var result = await AuditVerifier.VerifyAsync(store, exported, checkpoint => Trust(checkpoint, ring, trustedKeys), ct);
            foreach (var problem in problems)
            {
                Console.WriteLine("warning: " + problem);
            }

            foreach (var warning in result.Warnings)
            {
                Console.WriteLine("warning: " + warning);
            }

            if (!result.Ok)
            {
                Console.WriteLine($"FAILED at index {result.FirstBadIndex}: {result.Problem}");
                return VerificationFailed;
            }

            // An archive is checked after the log: the log ties the kept tiles and chain hashes to the signed roots, the
            // archive is checked against those and against every trusted checkpoint inside its range.
            if (parse.GetValue(archiveFile) is { } archived)
            {
                if (!File.Exists(archived))
                {
                    await Console.Error.WriteLineAsync($"switchboard: no file {archived}");
                    return SwitchboardCommandLine.UsageError;
                }

                var signed = (await ReadStoredCheckpointsAsync(store, ct)).Concat(exported)
                    .Where(c => AuditCheckpoints.Verify(c, out _) is not null && Trust(c, ring, trustedKeys) is null)
                    .ToList();
                AuditVerification checkedArchive;
                try
                {
                    checkedArchive = await AuditVerifier.VerifyArchiveAsync(store, archived, signed, ct);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
                {
                    Console.WriteLine($"FAILED: {ex.Message}");
                    return VerificationFailed;
                }

                foreach (var warning in checkedArchive.Warnings)
                {
                    Console.WriteLine("warning: " + warning);
                }

                if (!checkedArchive.Ok)
                {
                    Console.WriteLine($"FAILED at index {checkedArchive.FirstBadIndex}: {checkedArchive.Problem}");
                    return VerificationFailed;
                }

                Console.WriteLine($"ok: {checkedArchive.Records} archived records match the tiles, chain hash and signed checkpoints the log kept");
                return 0;
            }

            Console.WriteLine($"ok: {result.Records} records, {result.CheckpointsVerified} signed checkpoints verified" +
                (result.LatestTreeSize is { } size ? $" (latest: tree size {size}, root {result.LatestRoot})" : string.Empty));
            return 0;
        }, ct));

        // New variables, not a reassignment: the verify action above captures its own options.
        var (exportData, exportConfig) = Common();
        var output = new Option<string?>("--output") { Description = "File to write (default standard output)." };
        var from = new Option<long>("--from") { Description = "First sequence number to export.", DefaultValueFactory = _ => 0 };
        var export = new Command("export", "Write the audit records as JSON lines (each line a record exactly as hashed).") { exportData, exportConfig, output, from };
        export.SetAction((parse, ct) => SecurityCommands.RunAsync(parse.GetValue(exportData), parse.GetValue(exportConfig), async services =>
        {
            var (store, _) = Locate(services);
            await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(30), ct);
            var target = parse.GetValue(output);
            await using var writer = target is null ? null : new StreamWriter(target, append: false);
            var sink = writer ?? Console.Out;
            long count = 0;
            await foreach (var row in AuditStore.ReadRecordsAsync(connection, null, parse.GetValue(from), ct))
            {
                await sink.WriteLineAsync(row.Record);
                count++;
            }

            await sink.FlushAsync(ct);
            if (target is not null)
            {
                Console.WriteLine($"exported {count} records to {target}");
            }

            return 0;
        }, ct));

        var (pruneData, pruneConfig) = Common();
        var before = new Option<long>("--before") { Description = "Prune the records before this sequence number (rounded down to a multiple of 256).", Required = true };
        var archive = new Option<string>("--archive") { Description = "A new file to move the pruned records to (JSON lines, each record exactly as hashed).", Required = true };
        var prune = new Command("prune", "Move the oldest records into an archive file; the log stays verifiable (their tree tiles and last chain hash are kept). Safe while the server runs.") { pruneData, pruneConfig, before, archive };
        prune.SetAction((parse, ct) => SecurityCommands.RunAsync(parse.GetValue(pruneData), parse.GetValue(pruneConfig), async services =>
        {
            var (store, exportDirectory) = Locate(services);
            try
            {
                var exported = AuditVerifier.ReadExported(exportDirectory, []);
                var result = await AuditPruner.PruneAsync(store, parse.GetValue(before), parse.GetValue(archive)!, exported, TimeProvider.System, ct);
                Console.WriteLine($"pruned records {result.From} to {result.Before - 1} into {result.Archive}; the log now starts at record {result.Before}");
                return 0;
            }
            catch (AuditPruneRefusedException ex)
            {
                await Console.Error.WriteLineAsync("switchboard: not pruned: " + ex.Message);
                return SwitchboardCommandLine.UsageError;
            }
            catch (AuditPruneOutcomeUnknownException ex)
            {
                await Console.Error.WriteLineAsync("switchboard: prune outcome unknown: " + ex.Message);
                return PruneOutcomeUnknown;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
            {
                // Nothing was deleted: the failure came before the commit (a failed commit is the case above).
                await Console.Error.WriteLineAsync("switchboard: not pruned: " + ex.Message);
                return 1;
            }
        }, ct));

        command.Subcommands.Add(verify);
        command.Subcommands.Add(export);
        command.Subcommands.Add(prune);
        return command;
    }

    private static async Task<List<StoredCheckpoint>> ReadStoredCheckpointsAsync(AuditStore store, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(create: false, TimeSpan.FromSeconds(30), cancellationToken);
        return await AuditStore.ReadCheckpointsAsync(connection, null, cancellationToken);
    }

    private static (AuditStore Store, string ExportDirectory) Locate(OfflineServices services)
    {
        var dataDirectory = services.Get<IOptions<SwitchboardOptions>>().Value.DataDirectory;
        var audit = services.Get<IOptions<ComplianceOptions>>().Value.Audit;
        var store = new AuditStore(Path.Combine(dataDirectory, audit.FileName));
        if (!File.Exists(store.FilePath))
        {
            throw new InvalidOperationException($"there is no audit log at {store.FilePath}");
        }

        return (store, Path.GetFullPath(Path.Combine(dataDirectory, audit.ExportDirectory)));
    }

    private static string? Trust(StoredCheckpoint checkpoint, IReadOnlyList<SigningKeyRecord> ring, List<string> trustedKeys)
    {
        if (ring.FirstOrDefault(k => k.Kid == checkpoint.Kid) is { } key)
        {
            if (key.RevokedAt is not null)
            {
                return $"signed by key {checkpoint.Kid}, which is revoked";
            }

            return AuditCheckpoints.SamePublicKey(key.PublicJwk, checkpoint.PublicJwk)
                ? null
                : $"signed by a key {checkpoint.Kid} that differs from the ring's key of that id";
        }

        return trustedKeys.Any(k => AuditCheckpoints.SamePublicKey(k, checkpoint.PublicJwk))
            ? null
            : $"signed by key {checkpoint.Kid}, which is not trusted (not in the key ring, the exported keys.jwks or --trusted-keys)";
    }

    private static List<string> ReadKeys(string path)
    {
        var keys = new List<string>();
        if (File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["keys"] is JsonArray array)
        {
            keys.AddRange(array.Where(k => k is JsonObject).Select(k => k!.ToJsonString()));
        }

        return keys;
    }
}

/// <summary>The text <c>switchboard policy show</c> prints.</summary>
internal static class PolicyReport
{
    public static string Render(ComplianceOptions options, PiiScanner scanner)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"Masking: {(options.MaskingEnabled ? "on" : "off")}   Audit: {(options.Audit.Enabled ? "on" : "off")}{(options.Audit.FailClosed ? " (fail closed)" : " (fail open)")}");
        text.AppendLine();
        text.AppendLine("Detectors");
        text.AppendLine($"  {"ENTITY",-20} {"CLASS",-13} {"CATEGORY",-9} VALIDATOR");
        foreach (var detector in scanner.Detectors.DistinctBy(d => (d.EntityType, d.ValidatorName)))
        {
            text.AppendLine($"  {detector.EntityType,-20} {detector.Class.ToName(),-13} {detector.Category.ToString().ToLowerInvariant(),-9} {detector.ValidatorName}");
        }

        text.AppendLine();
        text.AppendLine("Policy (most specific wins: field > tool > plugin > Policy > defaults; within a level: entity > secret/pii > class > *)");
        Rules(text, "  defaults", MaskingPolicy.BuiltInDefaults);
        Rules(text, "  Policy", options.Policy);
        foreach (var (plugin, settings) in options.Plugins.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Rules(text, $"  plugin {plugin}", settings);
            foreach (var (tool, toolSettings) in settings.Tools.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                Rules(text, $"  plugin {plugin} tool {tool}", toolSettings);
                foreach (var (field, rules) in toolSettings.Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    Rules(text, $"  plugin {plugin} tool {tool} field {field}", rules);
                }
            }
        }

        text.AppendLine("  (anything not matched: allow)");
        return text.ToString();
    }

    private static void Rules(System.Text.StringBuilder text, string scope, DirectionRules rules)
    {
        foreach (var (direction, map) in new[] { ("arguments", rules.Arguments), ("results", rules.Results) })
        {
            if (map.Count > 0)
            {
                text.AppendLine($"{scope} {direction}: " + string.Join(", ", map.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).Select(p => $"{p.Key}={p.Value.ToLowerInvariant()}")));
            }
        }
    }
}
