using System.Text.Json.Nodes;
using Switchboard.Compliance;
using Switchboard.Compliance.Detection;
using Switchboard.Compliance.Masking;

namespace Switchboard.Tests.Compliance;

/// <summary>
/// Every built-in detector with a valid value, a value that fails its checksum or rules, and a look-alike that must not
/// match; normalisation of full-width input; linear-time behaviour on hostile input.
/// </summary>
public sealed class DetectorTests
{
    private static readonly PiiScanner s_scanner = ComplianceDetectors.CreateScanner(new ComplianceOptions { PhoneRegions = ["US", "GB"] });

    private static readonly string s_anthropic = "sk-ant-api03-" + new string('a', 50) + new string('B', 43) + "AA";
    private static readonly string s_github = "ghp_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
    private static readonly string s_openAi = "sk-proj-" + "abcdefghij0123456789" + "T3BlbkFJ" + "ABCDEFGHIJ0123456789";

    private static IReadOnlyList<(string Entity, string Value)> Found(string text)
        => s_scanner.Scan(text).Select(f => (f.EntityType, text.Substring(f.Start, f.Length))).ToList();

    [Fact]
    public void CreatingTheDetectors_CompilesNoPattern_UntilOneIsUsed()
    {
        var detectors = BuiltInDetectors.Create(["US"]);
        Assert.All(detectors, d => Assert.False(d.PatternBuilt, d.EntityType));

        var email = detectors.First(d => d.EntityType == BuiltInDetectors.Email);
        _ = email.Pattern;
        Assert.True(email.PatternBuilt);
        Assert.All(detectors.Where(d => d != email), d => Assert.False(d.PatternBuilt, d.EntityType));
    }

    [Fact]
    public void AReclassedDetector_SharesItsPattern_AndStillFinds()
    {
        var scanner = ComplianceDetectors.CreateScanner(new ComplianceOptions { DataClasses = { [BuiltInDetectors.Email] = "restricted" } });

        var finding = Assert.Single(scanner.Scan("write to alice@example.com"));

        Assert.Equal(BuiltInDetectors.Email, finding.EntityType);
        Assert.Equal(DataClass.Restricted, finding.Class);
    }

    [Theory]
    [InlineData(BuiltInDetectors.Email, "alice.smith@example.com")]
    [InlineData(BuiltInDetectors.Phone, "+1 650-253-0000")]
    [InlineData(BuiltInDetectors.Phone, "+44 20 7946 0958")]
    [InlineData(BuiltInDetectors.Phone, "(650) 253-0000")]
    [InlineData(BuiltInDetectors.CreditCard, "4111 1111 1111 1111")]
    [InlineData(BuiltInDetectors.CreditCard, "5555-5555-5555-4444")]
    [InlineData(BuiltInDetectors.CreditCard, "6212345678901232")]
    [InlineData(BuiltInDetectors.Iban, "GB82 WEST 1234 5698 7654 32")]
    [InlineData(BuiltInDetectors.Iban, "DE89370400440532013000")]
    [InlineData(BuiltInDetectors.IpAddress, "192.168.10.20")]
    [InlineData(BuiltInDetectors.IpAddress, "2001:db8::8a2e:370:7334")]
    [InlineData(BuiltInDetectors.UsSsn, "536-22-8751")]
    [InlineData(BuiltInDetectors.ChinaResidentId, "11010519491231002X")]
    [InlineData(BuiltInDetectors.ChinaResidentId, "440300199003071234")]
    [InlineData(BuiltInDetectors.ChinaMobile, "13800138000")]
    [InlineData(BuiltInDetectors.ChinaMobile, "+86 139 1234 5678")]
    [InlineData(BuiltInDetectors.ChinaUscc, "91350100M000100Y43")]
    [InlineData(BuiltInDetectors.AwsAccessKey, "AKIAIOSFODNN7EXAMPLE")]
    [InlineData(BuiltInDetectors.SlackToken, "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx")]
    [InlineData(BuiltInDetectors.Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl")]
    public void ValidValue_IsFound_AsItsEntity_InsideASentence(string entity, string value)
    {
        var findings = Found($"Contact: {value}, thanks.");

        Assert.Equal([(entity, value)], findings);
    }

    [Theory]
    [InlineData("IP:2001:db8::8a2e:370:7334 is up", "2001:db8::8a2e:370:7334")]
    [InlineData("地址：2001:db8::1。", "2001:db8::1")]
    [InlineData("It moved to fe80::1ff:fe23:4567:890a.", "fe80::1ff:fe23:4567:890a")]
    public void Ipv6_AfterAColonOrBeforeAFullStop_IsFoundExactly(string text, string expected)
        => Assert.Equal([(BuiltInDetectors.IpAddress, expected)], Found(text));

    [Theory]
    [InlineData("440305199003071230")] // resident id shape, wrong check digit, passes Luhn with a Visa prefix
    [InlineData("510107198001011230")] // Mastercard prefix, 18 digits
    public void EighteenDigitIds_AreNotCards(string value)
        => Assert.DoesNotContain(Found($"id {value} end"), f => f.Entity == BuiltInDetectors.CreditCard);

    [Fact]
    public void Secrets_WithGeneratedBodies_AreFound()
    {
        var pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        Assert.Equal([(BuiltInDetectors.AnthropicApiKey, s_anthropic)], Found($"key={s_anthropic};"));
        Assert.Equal([(BuiltInDetectors.GitHubToken, s_github)], Found($"token {s_github} ok"));
        Assert.Equal([(BuiltInDetectors.OpenAiApiKey, s_openAi)], Found($"OPENAI={s_openAi}"));
        Assert.Equal([(BuiltInDetectors.PrivateKey, pem)], Found($"here:\n{pem}\nend"));
    }

    [Theory]
    [InlineData("4111 1111 1111 1112")] // Luhn fails
    [InlineData("6212345678901233")] // UnionPay, Luhn fails
    [InlineData("GB82 WEST 1234 5698 7654 33")] // mod 97 fails
    [InlineData("11010519491231002 1")] // resident id split
    [InlineData("110105194912310021")] // resident id, wrong check character
    [InlineData("110105194902300028")] // resident id, 30 February
    [InlineData("91350100M000100Y44")] // USCC, wrong check character
    [InlineData("12800138000")] // no mainland mobile starts 12
    [InlineData("000-12-3456")] // SSN area 000
    [InlineData("666-12-3456")] // SSN area 666
    [InlineData("123-45-6789")] // the advertised SSN
    [InlineData("+1 123 456 7890")] // no such area code
    [InlineData("999.10.10.10")] // not an IPv4 address
    public void ChecksumOrRuleInvalidValue_IsNotFound(string value)
        => Assert.Empty(Found($"value {value} here"));

    [Theory]
    [InlineData("Order 2024-01-15 shipped at 12:30:45")] // date and time
    [InlineData("version 1.2.3.4 of the build")] // four-part version: a valid IPv4 shape is flagged by design; see below
    [InlineData("user@localhost wrote")] // no TLD
    [InlineData("tracking 1234567890123")] // 13 digits, Luhn fails or no issuer
    [InlineData("AKIA-not-a-key and ghp_short")]
    [InlineData("eyJub3RhIjoiand0In0 alone")]
    [InlineData("sk-ant-api03-tooshort")]
    [InlineData("ISBN 978-3-16-148410-0")]
    public void LookAlike_IsNotFound(string text)
    {
        var findings = Found(text);
        if (text.StartsWith("version", StringComparison.Ordinal))
        {
            // 1.2.3.4 is a syntactically valid address; the detector reports it (IP addresses are class internal and
            // allowed by default), which is the documented trade-off.
            Assert.All(findings, f => Assert.Equal(BuiltInDetectors.IpAddress, f.Entity));
            return;
        }

        Assert.Empty(findings);
    }

    [Fact]
    public void FullWidthDigitsAndIdeographicSeparators_AreNormalised_AndTheFindingCoversTheOriginalCharacters()
    {
        const string text = "手机：１３８－００１３－８０００，谢谢";
        var finding = Assert.Single(s_scanner.Scan(text));

        Assert.Equal(BuiltInDetectors.ChinaMobile, finding.EntityType);
        Assert.Equal("１３８－００１３－８０００", text.Substring(finding.Start, finding.Length));
    }

    [Fact]
    public void ZeroWidthCharacters_DoNotHideAValue()
    {
        const string text = "card 4111\u200B1111\u200B1111\u200B1111 end";
        var finding = Assert.Single(s_scanner.Scan(text));

        Assert.Equal(BuiltInDetectors.CreditCard, finding.EntityType);
    }

    [Fact]
    public void EveryDetector_HasADataClass_AndSecretsAreRestricted()
    {
        Assert.All(s_scanner.Detectors, d => Assert.True(Enum.IsDefined(d.Class)));
        Assert.All(s_scanner.Detectors.Where(d => d.Category == EntityCategory.Secret), d => Assert.Equal(DataClass.Restricted, d.Class));
    }

    [Fact]
    public void CustomRule_WithValidator_FindsOnlyValidValues_AndTakesItsDataClass()
    {
        var scanner = ComplianceDetectors.CreateScanner(new ComplianceOptions
        {
            CustomRules = [new CustomRuleOptions { Name = "EMPLOYEE_CARD", Pattern = "EMP-[0-9]{16}", Validator = "luhn", DataClass = "internal" }],
        });

        var finding = Assert.Single(scanner.Scan("badge EMP-4111111111111111 and EMP-4111111111111112"));
        Assert.Equal("EMPLOYEE_CARD", finding.EntityType);
        Assert.Equal(DataClass.Internal, finding.Class);
        Assert.Equal(6, finding.Start);
    }

    [Fact]
    public void InvalidCustomRules_AreRejectedByTheValidator_WithAClearMessage()
    {
        var result = new ComplianceOptionsValidator().Validate(null, new ComplianceOptions
        {
            CustomRules =
            [
                new CustomRuleOptions { Name = "BROKEN", Pattern = "([a-z" },
                new CustomRuleOptions { Name = "BACKREF", Pattern = @"(a)\1" },
                new CustomRuleOptions { Name = "lower case", Pattern = "x", Validator = "nonsense", DataClass = "secretive" },
            ],
        });

        Assert.True(result.Failed);
        var message = result.FailureMessage;
        Assert.Contains("BROKEN", message, StringComparison.Ordinal);
        Assert.Contains("BACKREF", message, StringComparison.Ordinal);
        Assert.Contains("nonsense", message, StringComparison.Ordinal);
        Assert.Contains("secretive", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@", 4000)]
    [InlineData("1-", 100_000)]
    [InlineData("a.", 100_000)]
    [InlineData("::", 100_000)]
    [InlineData("-----BEGIN PRIVATE KEY-----", 5_000)]
    [InlineData("eyJ", 50_000)]
    [InlineData("4111 ", 50_000)]
    public void HostileInput_IsScannedWithoutTimingOut(string unit, int repeat)
    {
        // Backtracking engines go exponential or quadratic on these; the linear-time engine finishes (a match timeout
        // would throw RegexMatchTimeoutException instead of returning).
        var text = string.Concat(Enumerable.Repeat(unit, repeat)) + "!";
        var findings = s_scanner.Scan(text);

        Assert.NotNull(findings);
    }

    [Fact]
    public void JsonNumbers_AreScannedLikeStrings()
    {
        var engine = ComplianceTestEngines.Create(new ComplianceOptions());
        var node = JsonNode.Parse("""{"id": 440300199003071234, "card": 4111111111111111, "n": 42}""")!;

        var report = engine.Apply(node, new MaskingScope("p", "t", MaskingDirection.Results, null, null));

        Assert.Equal("440***********1234", node["id"]!.GetValue<string>());
        Assert.Equal("411*********1111", node["card"]!.GetValue<string>());
        Assert.Equal(42, node["n"]!.GetValue<int>());
        Assert.Equal(2, report.TotalFindings);
    }
}
