using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Compliance;
using Switchboard.Compliance.Masking;

namespace Switchboard.Tests.Compliance;

/// <summary>Builds a masking engine as the server does, with a fixed pseudonym key.</summary>
internal static class ComplianceTestEngines
{
    public static MaskingEngine Create(ComplianceOptions options, TimeProvider? time = null)
    {
        var keys = new ComplianceKeys();
        keys.Use(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        return new MaskingEngine(
            ComplianceDetectors.CreateScanner(options),
            new MaskingPolicy(options),
            keys,
            new TokenVaultStore(Options.Create(options), time ?? TimeProvider.System));
    }
}

/// <summary>
/// The masking actions and policy precedence on JSON payloads, without a server: default policy, plugin, tool and field
/// overrides, each action in both directions, tokenize scoping and fallback, and block.
/// </summary>
public sealed class MaskingEngineTests
{
    private static MaskingScope Results(string? conversation = "c1", string plugin = "crm", string tool = "lookup") => new(plugin, tool, MaskingDirection.Results, conversation, null);

    private static MaskingScope Arguments(string? conversation = "c1", string plugin = "crm", string tool = "lookup") => new(plugin, tool, MaskingDirection.Arguments, conversation, null);

    private static ComplianceOptions WithToolRules(string direction, string key, string action)
    {
        var rules = new ToolPolicyOptions();
        (direction == "arguments" ? rules.Arguments : rules.Results)[key] = action;
        return new ComplianceOptions { Plugins = { ["crm"] = new PluginPolicyOptions { Tools = { ["lookup"] = rules } } } };
    }

    [Fact]
    public void DefaultPolicy_MasksConfidentialPiiInResults_RedactsSecretsBothWays_LeavesInternalAlone()
    {
        var engine = ComplianceTestEngines.Create(new ComplianceOptions());
        var result = JsonNode.Parse("""{"text":"mail alice@example.com from 10.0.0.7 with AKIAIOSFODNN7EXAMPLE"}""")!;
        var arguments = JsonNode.Parse("""{"email":"alice@example.com","key":"AKIAIOSFODNN7EXAMPLE"}""")!;

        var resultReport = engine.Apply(result, Results());
        var argumentReport = engine.Apply(arguments, Arguments());

        Assert.Equal("mail a***@example.com from 10.0.0.7 with [AWS_ACCESS_KEY]", result["text"]!.GetValue<string>());
        Assert.Equal("alice@example.com", arguments["email"]!.GetValue<string>());
        Assert.Equal("[AWS_ACCESS_KEY]", arguments["key"]!.GetValue<string>());
        Assert.Equal(1, resultReport.CountsByClass["confidential"]);
        Assert.Equal(1, resultReport.CountsByClass["internal"]);
        Assert.Equal(1, argumentReport.CountsByClass["restricted"]);
    }

    [Theory]
    [InlineData("mask", "13800138000", "138****8000")]
    [InlineData("redact", "13800138000", "[CN_MOBILE]")]
    [InlineData("allow", "13800138000", "13800138000")]
    public void MaskRedactAllow_InResults(string action, string value, string expected)
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("results", "CN_MOBILE", action));
        var node = new JsonObject { ["phone"] = value };

        engine.Apply(node, Results());

        Assert.Equal(expected, node["phone"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("mask", "a***@example.com")]
    [InlineData("redact", "[EMAIL]")]
    public void MaskAndRedact_InArguments(string action, string expected)
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("arguments", "EMAIL", action));
        var node = new JsonObject { ["to"] = "alice@example.com" };

        var report = engine.Apply(node, Arguments());

        Assert.Equal(expected, node["to"]!.GetValue<string>());
        Assert.True(report.Changed);
    }

    [Fact]
    public void Hash_IsAStableKeyedPseudonym_PerTenant()
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("results", "pii", "hash"));
        var first = new JsonObject { ["a"] = "alice@example.com", ["b"] = "alice@example.com", ["c"] = "bob@example.com" };
        var otherTenant = new JsonObject { ["a"] = "alice@example.com" };

        engine.Apply(first, Results());
        engine.Apply(otherTenant, new MaskingScope("crm", "lookup", MaskingDirection.Results, "c1", "tenant-b"));

        var a = first["a"]!.GetValue<string>();
        Assert.Matches("^\\[EMAIL:[0-9a-f]{16}\\]$", a);
        Assert.Equal(a, first["b"]!.GetValue<string>());
        Assert.NotEqual(a, first["c"]!.GetValue<string>());
        Assert.NotEqual(a, otherTenant["a"]!.GetValue<string>());
    }

    [Fact]
    public void Tokenize_RoundTrips_WithinAConversation_AndNeverResolvesAnotherConversationsTokens()
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("results", "EMAIL", "tokenize"));
        var result = new JsonObject { ["text"] = "alice@example.com and bob@example.com and alice@example.com" };

        engine.Apply(result, Results("conv-1"));
        Assert.Equal("«EMAIL_1» and «EMAIL_2» and «EMAIL_1»", result["text"]!.GetValue<string>());

        var sameConversation = new JsonObject { ["to"] = "write to «EMAIL_2»" };
        var sameReport = engine.Apply(sameConversation, Arguments("conv-1"));
        Assert.Equal("write to bob@example.com", sameConversation["to"]!.GetValue<string>());
        Assert.Equal(1, sameReport.TokensResolved);

        var otherConversation = new JsonObject { ["to"] = "write to «EMAIL_2»" };
        var otherReport = engine.Apply(otherConversation, Arguments("conv-2"));
        Assert.Equal("write to «EMAIL_2»", otherConversation["to"]!.GetValue<string>());
        Assert.Equal(1, otherReport.TokensUnresolved);

        var noConversation = new JsonObject { ["to"] = "«EMAIL_1»" };
        engine.Apply(noConversation, Arguments(conversation: null));
        Assert.Equal("«EMAIL_1»", noConversation["to"]!.GetValue<string>());
    }

    [Fact]
    public void Tokenize_WithoutAConversation_FallsBackToRedact_AndSaysSo()
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("results", "EMAIL", "tokenize"));
        var result = new JsonObject { ["text"] = "alice@example.com" };

        var report = engine.Apply(result, Results(conversation: null));

        Assert.Equal("[EMAIL]", result["text"]!.GetValue<string>());
        Assert.Equal(1, report.TokenizeFallbacks);
    }

    [Fact]
    public void TokenVault_DropsAnIdleConversation_SoItsTokensStopResolving()
    {
        var time = new FakeTimeProvider();
        var options = WithToolRules("results", "EMAIL", "tokenize");
        options.Vault.IdleTimeout = TimeSpan.FromMinutes(10);
        var engine = ComplianceTestEngines.Create(options, time);
        engine.Apply(new JsonObject { ["t"] = "alice@example.com" }, Results("conv-1"));

        time.Advance(TimeSpan.FromMinutes(11));
        var arguments = new JsonObject { ["to"] = "«EMAIL_1»" };
        engine.Apply(arguments, Arguments("conv-1"));

        Assert.Equal("«EMAIL_1»", arguments["to"]!.GetValue<string>());
    }

    [Fact]
    public void Block_RefusesThePayload_NamingTheDataClass()
    {
        var engine = ComplianceTestEngines.Create(WithToolRules("arguments", "restricted", "block"));
        var node = new JsonObject { ["card"] = "4111 1111 1111 1111" };

        var report = engine.Apply(node, Arguments());

        Assert.NotNull(report.Blocked);
        Assert.Equal("restricted", report.Blocked!.Value.Class.ToString().ToLowerInvariant());
        Assert.Equal("CREDIT_CARD", report.Blocked.Value.Entity);
    }

    [Fact]
    public void Precedence_FieldOverToolOverPluginOverGlobalOverDefaults()
    {
        var options = new ComplianceOptions
        {
            Policy = { Results = { ["EMAIL"] = "redact" } },
            Plugins =
            {
                ["crm"] = new PluginPolicyOptions
                {
                    Results = { ["EMAIL"] = "hash" },
                    Tools =
                    {
                        ["lookup"] = new ToolPolicyOptions
                        {
                            Results = { ["EMAIL"] = "allow" },
                            Fields = { ["structuredContent.owner.email"] = new DirectionRules { Results = { ["EMAIL"] = "mask" } } },
                        },
                    },
                },
            },
        };
        var engine = ComplianceTestEngines.Create(options);
        const string Email = "alice@example.com";

        JsonNode Run(string plugin, string tool)
        {
            var node = new JsonObject { ["structuredContent"] = new JsonObject { ["owner"] = new JsonObject { ["email"] = Email }, ["other"] = Email } };
            engine.Apply(node, new MaskingScope(plugin, tool, MaskingDirection.Results, "c", null));
            return node["structuredContent"]!;
        }

        var lookup = Run("crm", "lookup");
        Assert.Equal("a***@example.com", lookup["owner"]!["email"]!.GetValue<string>());
        Assert.Equal(Email, lookup["other"]!.GetValue<string>());
        Assert.StartsWith("[EMAIL:", Run("crm", "search")["other"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("[EMAIL]", Run("billing", "invoice")["other"]!.GetValue<string>());
    }

    [Fact]
    public void BinaryContent_IsNotScanned()
    {
        var engine = ComplianceTestEngines.Create(new ComplianceOptions());
        var node = JsonNode.Parse("""{"content":[{"type":"image","data":"alice@example.com","mimeType":"image/png"}]}""")!;

        var report = engine.Apply(node, Results());

        Assert.Equal(0, report.TotalFindings);
    }
}
