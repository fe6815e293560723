using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Switchboard.Compliance.Detection;

/// <summary>
/// The detectors Switchboard ships. Every pattern is compiled with <see cref="RegexOptions.NonBacktracking"/> (linear in
/// the input, no catastrophic backtracking) plus a match timeout as a backstop; boundaries and checksums are checked
/// in code, because the linear-time engine has no lookarounds.
/// </summary>
public static class BuiltInDetectors
{
    /// <summary>Backstop for one regex pass; the engine is linear, so this is never reached on sane sizes.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    public const string Email = "EMAIL";
    public const string Phone = "PHONE";
    public const string CreditCard = "CREDIT_CARD";
    public const string Iban = "IBAN";
    public const string IpAddress = "IP_ADDRESS";
    public const string UsSsn = "US_SSN";
    public const string ChinaResidentId = "CN_RESIDENT_ID";
    public const string ChinaMobile = "CN_MOBILE";
    public const string ChinaUscc = "CN_USCC";
    public const string AwsAccessKey = "AWS_ACCESS_KEY";
    public const string GitHubToken = "GITHUB_TOKEN";
    public const string SlackToken = "SLACK_TOKEN";
    public const string AnthropicApiKey = "ANTHROPIC_API_KEY";
    public const string OpenAiApiKey = "OPENAI_API_KEY";
    public const string PrivateKey = "PRIVATE_KEY";
    public const string Jwt = "JWT";

    internal static Regex Compile(string pattern, RegexOptions extra = RegexOptions.None)
        => new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | extra, MatchTimeout);

    /// <summary>A built-in pattern, compiled on first use (thread-safe, once).</summary>
    private static Lazy<Regex> Later(string pattern) => new(() => Compile(pattern), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Creates the built-in detectors. Phone numbers without a '+' are read as numbers of <paramref name="phoneRegions"/>.
    /// Cheap: no pattern is compiled and no phone metadata is loaded until a detector is first used, so checking
    /// configuration can build them just to read their names.
    /// </summary>
    public static IReadOnlyList<Detector> Create(IReadOnlyList<string> phoneRegions)
    {
        var phones = new PhoneValidator(phoneRegions);
        return
        [
            new(Email, DataClass.Confidential, EntityCategory.Pii,
                Later(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"),
                MatchBoundary.None, ValidateEmail, priority: 50, requiredChar: '@'),
            new(Phone, DataClass.Confidential, EntityCategory.Pii,
                Later(@"\+[1-9][0-9 ().\-]{5,20}[0-9]|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4}"),
                MatchBoundary.AlphaNumeric, phones.Validate, priority: 10, needsDigit: true, validatorName: "libphonenumber"),
            new(CreditCard, DataClass.Restricted, EntityCategory.Pii,
                Later(@"[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{4}){2,3}(?:[ \-][0-9]{1,3})?|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5}"),
                MatchBoundary.AlphaNumeric, ValidateCard, priority: 30, needsDigit: true, validatorName: "luhn"),
            new(Iban, DataClass.Restricted, EntityCategory.Pii,
                Later(@"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"),
                MatchBoundary.AlphaNumeric, ValidateIban, priority: 30, needsDigit: true, validatorName: "mod97"),
            new(IpAddress, DataClass.Internal, EntityCategory.Pii,
                Later(@"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
                MatchBoundary.AlphaNumeric, ValidateIpv4, priority: 5, needsDigit: true, validatorName: "ipv4"),
            new(IpAddress, DataClass.Internal, EntityCategory.Pii,
                Later(@"(?:[0-9A-Fa-f]{1,4}|:):[0-9A-Fa-f:.]*"),
                MatchBoundary.AlphaNumeric, ValidateIpv6, priority: 5, requiredChar: ':', validatorName: "ipv6"),
            new(UsSsn, DataClass.Restricted, EntityCategory.Pii,
                Later(@"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}"),
                MatchBoundary.AlphaNumeric, c => Checksums.UsSocialSecurityNumber(c) ? c.Length : 0, priority: 20, needsDigit: true, validatorName: "ssn-rules"),
            new(ChinaResidentId, DataClass.Restricted, EntityCategory.Pii,
                Later(@"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"),
                MatchBoundary.AlphaNumeric, c => Checksums.ChinaResidentId(c) ? c.Length : 0, priority: 40, needsDigit: true, validatorName: "iso7064-mod11-2"),
            new(ChinaMobile, DataClass.Confidential, EntityCategory.Pii,
                Later(@"(?:(?:\+|00)86[ \-]?)?1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}"),
                MatchBoundary.AlphaNumeric, PhoneValidator.ValidateChinaMobile, priority: 20, needsDigit: true, validatorName: "libphonenumber-cn"),
            new(ChinaUscc, DataClass.Internal, EntityCategory.Pii,
                Later(@"[1-9ANY][1-59][0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}"),
                MatchBoundary.AlphaNumeric, ValidateUscc, priority: 35, needsDigit: true, validatorName: "gb32100-mod31"),
            new(AwsAccessKey, DataClass.Restricted, EntityCategory.Secret,
                Later(@"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
                MatchBoundary.AlphaNumeric, null, priority: 60, requiredLiterals: ["A3T", "AKIA", "ASIA", "ABIA", "ACCA"]),
            new(GitHubToken, DataClass.Restricted, EntityCategory.Secret,
                Later(@"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}"),
                MatchBoundary.AlphaNumeric, null, priority: 60, requiredLiterals: ["gh", "github_pat_"]),
            new(SlackToken, DataClass.Restricted, EntityCategory.Secret,
                Later(@"xoxb-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9\-]*|xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9\-]{28,34}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}"),
                MatchBoundary.AlphaNumeric, null, priority: 60, requiredLiterals: ["xox", "xapp-", "hooks.slack.com"]),
            new(AnthropicApiKey, DataClass.Restricted, EntityCategory.Secret,
                Later(@"sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{93}AA"),
                MatchBoundary.AlphaNumeric, null, priority: 70, requiredLiterals: ["sk-ant-"]),
            new(OpenAiApiKey, DataClass.Restricted, EntityCategory.Secret,
                Later(@"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"),
                MatchBoundary.AlphaNumeric, null, priority: 65, requiredLiterals: ["T3BlbkFJ"]),
            new(PrivateKey, DataClass.Restricted, EntityCategory.Secret,
                Later(@"-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s:,]*(?:-----END[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----)?"),
                MatchBoundary.None, null, priority: 80, requiredLiterals: ["PRIVATE KEY"]),
            new(Jwt, DataClass.Restricted, EntityCategory.Secret,
                Later(@"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*"),
                MatchBoundary.AlphaNumeric, ValidateJwt, priority: 60, requiredLiterals: ["eyJ"], validatorName: "jose-header"),
        ];
    }

    /// <summary>Validators a custom rule may name in configuration.</summary>
    internal static CandidateValidator? NamedValidator(string? name, IReadOnlyList<string> phoneRegions) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "none" => null,
        // A custom identifier often wraps the number in letters (EMP-4111...): the check runs over its digits.
        "luhn" => c => Checksums.Luhn(DigitsOf(c)) ? c.Length : 0,
        "mod97" or "iban" => c => Checksums.IbanMod97(c) ? c.Length : 0,
        "iso7064-mod11-2" or "cn-resident-id" => c => Checksums.ChinaResidentId(c) ? c.Length : 0,
        "gb32100-mod31" or "uscc" => c => Checksums.UnifiedSocialCreditCode(c) ? c.Length : 0,
        "phone" => new PhoneValidator(phoneRegions).Validate,
        _ => throw new ArgumentException($"unknown validator '{name}'"),
    };

    private static string DigitsOf(ReadOnlySpan<char> candidate)
    {
        var digits = new System.Text.StringBuilder(candidate.Length);
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                digits.Append(c);
            }
        }

        return digits.ToString();
    }

    internal static readonly string[] ValidatorNames = ["none", "luhn", "mod97", "iso7064-mod11-2", "gb32100-mod31", "phone"];

    private static int ValidateEmail(ReadOnlySpan<char> candidate)
    {
        var at = candidate.IndexOf('@');
        var local = candidate[..at];
        var domain = candidate[(at + 1)..];
        if (local.Length is 0 or > 64 || local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return 0;
        }

        foreach (var label in domain.ToString().Split('.'))
        {
            if (label.Length == 0 || label[0] == '-' || label[^1] == '-')
            {
                return 0;
            }
        }

        return candidate.Length;
    }

    /// <summary>
    /// Luhn plus a known issuer prefix. When the whole run fails, trailing separator groups are dropped one by one, so a
    /// card followed by another number (<c>4111 1111 1111 1111 138</c>) is still found.
    /// </summary>
    private static int ValidateCard(ReadOnlySpan<char> candidate)
    {
        var length = candidate.Length;
        while (length > 0)
        {
            var span = candidate[..length];
            if (IsCard(span))
            {
                return length;
            }

            var lastSeparator = span.LastIndexOfAny(' ', '-');
            if (lastSeparator < 0)
            {
                return 0;
            }

            length = lastSeparator;
        }

        return 0;
    }

    private static bool IsCard(ReadOnlySpan<char> span)
    {
        Span<char> digits = stackalloc char[span.Length];
        var count = 0;
        var separator = '\0';
        foreach (var c in span)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else if (separator == '\0')
            {
                separator = c;
            }
            else if (separator != c)
            {
                return false;
            }
        }

        if (count is < 13 or > 19)
        {
            return false;
        }

        var number = digits[..count];
        if (number.IndexOfAnyExcept(number[0]) < 0 || !Checksums.Luhn(number))
        {
            return false;
        }

        // Issuer prefix and the lengths that issuer uses: an 18-digit resident id starting 4 or 51 that happens to pass
        // Luhn is not a Visa or Mastercard number.
        var two = (number[0] - '0') * 10 + (number[1] - '0');
        var four = int.Parse(number[..4], System.Globalization.CultureInfo.InvariantCulture);
        return count switch
        {
            _ when number[0] == '4' => count is 13 or 16 or 19,
            _ when two is >= 51 and <= 55 || four is >= 2221 and <= 2720 => count == 16,
            _ when two is 34 or 37 => count == 15,
            _ when two is 36 or 38 or 30 => count is >= 14 and <= 19,
            _ when two is 62 or 81 => count is >= 16 and <= 19,
            _ when two is 35 or 65 or 60 or 64 => count is >= 16 and <= 19,
            _ => false,
        };
    }

    /// <summary>
    /// The GB 32100 check character, except for an all-digit code shaped like a resident id (a birth date at positions
    /// 7-14): one in 31 mistyped resident ids would otherwise pass as a credit code.
    /// </summary>
    private static int ValidateUscc(ReadOnlySpan<char> candidate)
    {
        if (!Checksums.UnifiedSocialCreditCode(candidate))
        {
            return 0;
        }

        return candidate[..17].IndexOfAnyExceptInRange('0', '9') < 0 && Checksums.HasResidentIdBirthDate(candidate) ? 0 : candidate.Length;
    }

    private static int ValidateIban(ReadOnlySpan<char> candidate)
    {
        var length = candidate.Length;
        while (length >= 15)
        {
            if (Checksums.IbanMod97(candidate[..length]))
            {
                return length;
            }

            var lastSpace = candidate[..length].LastIndexOf(' ');
            if (lastSpace < 0)
            {
                return 0;
            }

            length = lastSpace;
        }

        return 0;
    }

    private static int ValidateIpv4(ReadOnlySpan<char> candidate)
    {
        foreach (var range in candidate.Split('.'))
        {
            var octet = candidate[range];
            if (octet.Length > 1 && octet[0] == '0')
            {
                return 0;
            }

            if (int.Parse(octet, System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return 0;
            }
        }

        return candidate.Length;
    }

    private static int ValidateIpv6(ReadOnlySpan<char> candidate)
    {
        // The pattern also takes dots (for an embedded IPv4 tail), so a sentence's full stop may end the match.
        candidate = candidate.TrimEnd('.');
        var colons = candidate.Count(':');
        if (colons < 2 || candidate.Length < 3 || (colons < 7 && !candidate.Contains("::", StringComparison.Ordinal)) || candidate is "::")
        {
            return 0;
        }

        // "12:30:45"-like times have no "::" and too few groups; a real address parses.
        return IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6 && candidate.IndexOfAnyExcept(':') >= 0
            ? candidate.Length
            : 0;
    }

    private static int ValidateJwt(ReadOnlySpan<char> candidate)
    {
        var dot = candidate.IndexOf('.');
        try
        {
            var header = Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(candidate[..dot].ToString()));
            return header.Contains("\"alg\"", StringComparison.Ordinal) ? candidate.Length : 0;
        }
        catch (FormatException)
        {
            return 0;
        }
        catch (ArgumentException)
        {
            return 0;
        }
    }

    /// <summary>Phone numbers through libphonenumber: the candidate is short, so parsing it costs little.</summary>
    private sealed class PhoneValidator(IReadOnlyList<string> regions)
    {
        private static readonly PhoneNumberUtil s_util = PhoneNumberUtil.GetInstance();

        public int Validate(ReadOnlySpan<char> candidate)
        {
            var text = candidate.ToString();
            var digits = text.Count(char.IsAsciiDigit);
            if (digits is < 7 or > 15)
            {
                return 0;
            }

            if (text[0] == '+')
            {
                return IsValid(text, null) ? candidate.Length : 0;
            }

            foreach (var region in regions)
            {
                if (IsValid(text, region))
                {
                    return candidate.Length;
                }
            }

            return 0;
        }

        public static int ValidateChinaMobile(ReadOnlySpan<char> candidate)
        {
            var digits = new string(candidate.ToString().Where(char.IsAsciiDigit).ToArray());
            var national = digits.Length > 11 ? digits[^11..] : digits;
            if (national.Length != 11)
            {
                return 0;
            }

            try
            {
                var number = s_util.Parse(national, "CN");
                return s_util.IsValidNumberForRegion(number, "CN") && s_util.GetNumberType(number) is PhoneNumberType.MOBILE or PhoneNumberType.FIXED_LINE_OR_MOBILE
                    ? candidate.Length
                    : 0;
            }
            catch (NumberParseException)
            {
                return 0;
            }
        }

        private static bool IsValid(string text, string? region)
        {
            try
            {
                return s_util.IsValidNumber(s_util.Parse(text, region));
            }
            catch (NumberParseException)
            {
                return false;
            }
        }
    }
}
