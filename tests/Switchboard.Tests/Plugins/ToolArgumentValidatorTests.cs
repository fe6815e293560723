using System.Text.Json;
using Switchboard.Plugins;

namespace Switchboard.Tests.Plugins;

public class ToolArgumentValidatorTests
{
    private const string Schema = """
        {
          "type": "object",
          "properties": {
            "text": { "type": "string" },
            "count": { "type": "integer" },
            "ratio": { "type": "number" },
            "flag": { "type": "boolean" },
            "zone": { "type": ["string", "null"] },
            "mode": { "type": "string", "enum": ["fast", "slow"] },
            "items": { "type": "array" }
          },
          "required": ["text"]
        }
        """;

    private static bool Validate(string arguments, out string problem, string schema = Schema)
    {
        var args = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(arguments);
        return ToolArgumentValidator.TryValidate(JsonDocument.Parse(schema).RootElement, args, out problem);
    }

    [Theory]
    [InlineData("""{"text":"hi"}""")]
    [InlineData("""{"text":"hi","count":3,"ratio":0.5,"flag":true,"zone":null,"mode":"fast","items":[1]}""")]
    [InlineData("""{"text":"hi","count":3.0}""")]
    [InlineData("""{"text":"hi","extra":"ignored when the schema is open"}""")]
    public void TryValidate_ValidArguments_Pass(string arguments) => Assert.True(Validate(arguments, out _));

    [Theory]
    [InlineData("""{}""", "missing required argument 'text'")]
    [InlineData("""{"text":5}""", "argument 'text' must be a string, but a number was given")]
    [InlineData("""{"text":"x","count":1.5}""", "argument 'count' must be an integer")]
    [InlineData("""{"text":"x","flag":"yes"}""", "argument 'flag' must be a boolean, but a string was given")]
    [InlineData("""{"text":"x","zone":4}""", "argument 'zone' must be a string or null")]
    [InlineData("""{"text":"x","mode":"medium"}""", "argument 'mode' must be one of the values")]
    [InlineData("""{"text":"x","items":{}}""", "argument 'items' must be an array, but a object was given")]
    public void TryValidate_WrongArguments_NameTheProblem(string arguments, string expected)
    {
        Assert.False(Validate(arguments, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_NeverEchoesArgumentValues()
    {
        Assert.False(Validate("""{"text":"x","mode":"alice@example.com"}""", out var problem));
        Assert.DoesNotContain("alice", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_ClosedSchema_RejectsUnknownArgument()
    {
        const string closed = """{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}""";
        Assert.False(Validate("""{"a":"x","b":1}""", out var problem, closed));
        Assert.Contains("unexpected argument 'b'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryValidate_NullArgumentsWithRequiredProperty_Fails()
    {
        Assert.False(ToolArgumentValidator.TryValidate(JsonDocument.Parse(Schema).RootElement, null, out var problem));
        Assert.Contains("'text'", problem, StringComparison.Ordinal);
    }
}
