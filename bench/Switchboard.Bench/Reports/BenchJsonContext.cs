using System.Text.Json;
using System.Text.Json.Serialization;
using Switchboard.Bench.Load;
using Switchboard.Bench.Suite;

namespace Switchboard.Bench.Reports;

/// <summary>The one source-generated JSON context of the bench tool (results and the suite configuration).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(LoadResult))]
[JsonSerializable(typeof(List<LoadResult>))]
[JsonSerializable(typeof(SuiteConfig))]
[JsonSerializable(typeof(SuiteReport))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
