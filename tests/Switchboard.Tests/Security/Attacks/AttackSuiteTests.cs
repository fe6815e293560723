using Switchboard.Tests.Security.Support;

namespace Switchboard.Tests.Security.Attacks;

// One theory per catalog section. Each row is "<catalog ID> <variant>" on one transport; AttackAssert.RefusedAsync checks
// the exact status and challenge, the single 401 body, that no tool ran, and that nothing was fetched (canary, JWKS).

[Collection(AttackSuiteDefinition.Name)]
public sealed class StructureAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.Structure);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class AlgorithmAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.Algorithms);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class KeySelectionAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.KeySelection);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class TimeClaimAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.TimeClaims);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class IssuerAudienceTypeAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.IssuerAudienceType);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class CritAndSizeAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.CritAndSize);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class PlacementAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.UnicodeAndPlacement);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

[Collection(AttackSuiteDefinition.Name)]
public sealed class ExternalIssuerAttackTests(AttackSuiteFixture suite)
{
    public static TheoryData<string, AttackTransport> Cases => AttackAssert.Rows(AttackCatalog.ExternalIssuer);

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Refused(string attack, AttackTransport transport) => AttackAssert.RefusedAsync(suite, AttackCatalog.Find(attack), transport);
}

/// <summary>The catalog itself: enough distinct cases, each name unique, every ID from §1.3 or §1.5.</summary>
public sealed class AttackCatalogTests
{
    [Fact]
    public void Catalog_HasAtLeastSixtyDistinctCases_WithUniqueNamesAndCatalogIds()
    {
        var cases = AttackCatalog.All.ToList();

        Assert.True(cases.Count >= 60, $"{cases.Count} cases");
        Assert.Equal(cases.Count, cases.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.All(cases, c => Assert.Matches(@"^(JWT-[A-K]\d\d|KEY-\d\d)$", c.Id));
    }
}
