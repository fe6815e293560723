using System.Security.Cryptography;
using System.Text;
using Bogus;
using Switchboard.Compliance.Detection;

namespace Switchboard.Compliance.Bench;

/// <summary>One labelled entity inside a sample text.</summary>
internal sealed record Label(string Entity, int Start, int Length);

/// <summary>
/// One corpus sample: a text, the entities in it, and — for checksum-invalid look-alikes — the entity type it imitates
/// (the sample then has no labels and any finding is a false positive).
/// </summary>
internal sealed record Sample(string Text, IReadOnlyList<Label> Labels, string? LookAlikeOf);

/// <summary>
/// Builds a labelled corpus with Bogus (English and zh_CN surroundings): valid values of every detector, checksum-invalid
/// look-alikes of every checksum-validated type, and plain text with no entity at all. Seeded, so runs are repeatable.
/// </summary>
internal sealed class CorpusGenerator(int seed)
{
    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const string UsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    private static readonly string[] s_cnRegions = ["110105", "310104", "440305", "510107", "330106", "320102", "420106", "610113"];
    private static readonly string[] s_cnMobilePrefixes = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "158", "159", "180", "182", "186", "187", "188", "189"];
    private static readonly string[] s_usAreaCodes = ["212", "415", "650", "617", "312", "206", "303", "512"];
    private static readonly int[] s_residentWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    private static readonly int[] s_usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

    private readonly Faker _en = new("en") { Random = new Randomizer(seed) };
    private readonly Faker _zh = new("zh_CN") { Random = new Randomizer(seed + 1) };

    private Randomizer Random => _en.Random;

    /// <summary>The valid generators per entity type; checksum-validated types also have invalid look-alikes.</summary>
    public IReadOnlyDictionary<string, Func<string>> Valid => new Dictionary<string, Func<string>>
    {
        [BuiltInDetectors.Email] = () => _en.Internet.Email(),
        [BuiltInDetectors.Phone] = UsPhone,
        [BuiltInDetectors.CreditCard] = () => Card(valid: true),
        [BuiltInDetectors.Iban] = () => _en.Finance.Iban(formatted: Random.Bool()),
        [BuiltInDetectors.IpAddress] = () => Random.Bool() ? _en.Internet.Ip() : _en.Internet.Ipv6(),
        [BuiltInDetectors.UsSsn] = UsSsn,
        [BuiltInDetectors.ChinaResidentId] = () => ResidentId(valid: true),
        [BuiltInDetectors.ChinaMobile] = ChinaMobile,
        [BuiltInDetectors.ChinaUscc] = () => Uscc(valid: true),
        [BuiltInDetectors.AwsAccessKey] = () => "AKIA" + Random.String2(16, Base32),
        [BuiltInDetectors.GitHubToken] = () => "ghp_" + Random.String2(36, Alphanumeric),
        [BuiltInDetectors.SlackToken] = () => $"xoxb-{Random.ReplaceNumbers("##########")}-{Random.ReplaceNumbers("#############")}-{Random.String2(24, Alphanumeric)}",
        [BuiltInDetectors.AnthropicApiKey] = () => "sk-ant-api03-" + Random.String2(93, Alphanumeric + "-_") + "AA",
        [BuiltInDetectors.OpenAiApiKey] = () => "sk-proj-" + Random.String2(40, Alphanumeric) + "T3BlbkFJ" + Random.String2(40, Alphanumeric),
        [BuiltInDetectors.Jwt] = Jwt,
        [BuiltInDetectors.PrivateKey] = () => "-----BEGIN PRIVATE KEY-----\n" + Convert.ToBase64String(Random.Bytes(96)) + "\n-----END PRIVATE KEY-----",
    };

    /// <summary>Look-alikes that fail the format's checksum or rules.</summary>
    public IReadOnlyDictionary<string, Func<string>> Invalid => new Dictionary<string, Func<string>>
    {
        [BuiltInDetectors.CreditCard] = () => Card(valid: false),
        [BuiltInDetectors.Iban] = InvalidIban,
        [BuiltInDetectors.ChinaResidentId] = () => ResidentId(valid: false),
        [BuiltInDetectors.ChinaUscc] = () => Uscc(valid: false),
    };

    public List<Sample> Generate(int perType)
    {
        var samples = new List<Sample>();
        foreach (var (entity, make) in Valid)
        {
            for (var i = 0; i < perType; i++)
            {
                samples.Add(Embed(entity, make(), chinese: i % 3 == 0, fullWidth: i % 10 == 0 && entity is BuiltInDetectors.ChinaMobile or BuiltInDetectors.ChinaResidentId));
            }
        }

        foreach (var (entity, make) in Invalid)
        {
            for (var i = 0; i < perType; i++)
            {
                var value = make();
                var (text, _) = Surround(value, chinese: i % 3 == 0);
                samples.Add(new Sample(text, [], entity));
            }
        }

        // Hard negatives: identifiers and numbers that share characters with the entities but are none of them.
        for (var i = 0; i < perType; i++)
        {
            var text = (i % 6) switch
            {
                0 => $"request {Guid.NewGuid()} failed",
                1 => $"commit {Convert.ToHexStringLower(Random.Bytes(20))} merged",
                2 => $"at {_en.Date.Past():yyyy-MM-ddTHH:mm:ss}Z the job ran for {Random.Number(0, 23):00}:{Random.Number(0, 59):00}:{Random.Number(0, 59):00}",
                3 => $"version v{Random.Number(0, 30)}.{Random.Number(0, 99)}.{Random.Number(0, 999)} build {Random.ReplaceNumbers("########")}.{Random.Number(1, 9)}",
                4 => $"invoice INV-{Random.ReplaceNumbers("######")} of {Random.Number(1, 99999)}.{Random.Number(0, 99):00} EUR, ref {Random.String2(10, "ABCDEFGHJKLMNPQRSTUVWXYZ")}",
                _ => $"订单{Random.ReplaceNumbers("##########")}于{_zh.Date.Past():yyyy年M月d日}发货，重量{Random.Number(1, 99)}.{Random.Number(0, 9)}公斤",
            };
            samples.Add(new Sample(text, [], null));
        }

        for (var i = 0; i < perType; i++)
        {
            var text = i % 2 == 0
                ? _en.Lorem.Paragraph() + $" Order {Random.Number(1000, 99999)} shipped {_en.Date.Past():yyyy-MM-dd} at {Random.Number(0, 23):00}:{Random.Number(0, 59):00}, total ${Random.Number(1, 999)}.{Random.Number(0, 99):00}."
                : $"{_zh.Name.FullName()}住在{_zh.Address.City()}，订单号{Random.ReplaceNumbers("######")}，金额{Random.Number(1, 9999)}元。";
            samples.Add(new Sample(text, [], null));
        }

        return samples;
    }

    private Sample Embed(string entity, string value, bool chinese, bool fullWidth)
    {
        if (fullWidth)
        {
            value = string.Concat(value.Select(c => char.IsAsciiDigit(c) ? (char)(c - '0' + '０') : c));
        }

        var (text, start) = Surround(value, chinese);
        return new Sample(text, [new Label(entity, start, value.Length)], null);
    }

    private (string Text, int Start) Surround(string value, bool chinese)
    {
        var before = chinese ? $"{_zh.Name.FullName()}（{_zh.Address.City()}）的信息：" : _en.Lorem.Sentence() + " Details: ";
        var after = chinese ? "。请核对。" : ". " + _en.Lorem.Sentence();
        return (before + value + after, before.Length);
    }

    private string UsPhone()
    {
        var area = Random.ArrayElement(s_usAreaCodes);
        var exchange = Random.Number(201, 989);
        while (exchange % 100 == 11 || exchange == 555)
        {
            exchange = Random.Number(201, 989);
        }

        var line = Random.Number(1000, 9999);
        return Random.Number(0, 2) switch
        {
            0 => $"+1 {area}-{exchange}-{line}",
            1 => $"({area}) {exchange}-{line}",
            _ => $"+1 ({area}) {exchange} {line}",
        };
    }

    private string UsSsn()
    {
        var area = Random.Number(1, 899);
        while (area == 666)
        {
            area = Random.Number(1, 899);
        }

        return $"{area:000}-{Random.Number(1, 99):00}-{Random.Number(1, 9999):0000}";
    }

    private string ChinaMobile()
    {
        var prefix = Random.ArrayElement(s_cnMobilePrefixes);
        var number = prefix + Random.ReplaceNumbers("########");
        return Random.Number(0, 2) switch
        {
            0 => number,
            1 => $"+86 {number[..3]} {number[3..7]} {number[7..]}",
            _ => $"{number[..3]}-{number[3..7]}-{number[7..]}",
        };
    }

    private string Card(bool valid)
    {
        var (prefix, length) = Random.Number(0, 4) switch
        {
            0 => ("4", 16),
            1 => (Random.Number(51, 55).ToString(System.Globalization.CultureInfo.InvariantCulture), 16),
            2 => (Random.Bool() ? "34" : "37", 15),
            3 => ("62", Random.Bool() ? 16 : 19),
            _ => ("6011", 16),
        };
        var body = prefix + Random.ReplaceNumbers(new string('#', length - prefix.Length - 1));
        var check = LuhnDigit(body);
        var last = valid ? check : (check + Random.Number(1, 9)) % 10;
        var digits = body + (char)('0' + last);
        if (length == 16 && Random.Bool())
        {
            var separator = Random.Bool() ? ' ' : '-';
            return string.Join(separator, Enumerable.Range(0, 4).Select(i => digits.Substring(i * 4, 4)));
        }

        return digits;
    }

    private static int LuhnDigit(string body)
    {
        var sum = 0;
        for (var i = 0; i < body.Length; i++)
        {
            var digit = body[body.Length - 1 - i] - '0';
            if (i % 2 == 0)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
        }

        return (10 - (sum % 10)) % 10;
    }

    private string InvalidIban()
    {
        var iban = _en.Finance.Iban(formatted: false);
        var check = int.Parse(iban.AsSpan(2, 2), System.Globalization.CultureInfo.InvariantCulture);
        var wrong = (check + Random.Number(1, 90)) % 97;
        if (wrong < 2)
        {
            wrong += 2;
        }

        return iban[..2] + wrong.ToString("00", System.Globalization.CultureInfo.InvariantCulture) + iban[4..];
    }

    private string ResidentId(bool valid)
    {
        var birth = new DateTime(1950, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).AddDays(Random.Number(0, 20000));
        var body = Random.ArrayElement(s_cnRegions) + birth.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture) + Random.ReplaceNumbers("###");
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            sum += (body[i] - '0') * s_residentWeights[i];
        }

        const string Checks = "10X98765432";
        var check = Checks[sum % 11];
        if (!valid)
        {
            check = Checks[(sum + Random.Number(1, 10)) % 11];
        }

        return body + check;
    }

    private string Uscc(bool valid)
    {
        var body = "91" + Random.ArrayElement(s_cnRegions) + Random.String2(9, "0123456789ABCDEFGHJKLMNPQRTUWXY");
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            sum += UsccAlphabet.IndexOf(body[i], StringComparison.Ordinal) * s_usccWeights[i];
        }

        var index = (31 - (sum % 31)) % 31;
        if (!valid)
        {
            index = (index + Random.Number(1, 30)) % 31;
        }

        return body + UsccAlphabet[index];
    }

    private string Jwt()
    {
        static string Encode(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var signature = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")}.{Encode($"{{\"sub\":\"{Random.Number(1, 99999)}\",\"name\":\"{_en.Name.FirstName()}\"}}")}.{signature}";
    }
}
