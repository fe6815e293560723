using System.Globalization;

namespace Switchboard.Compliance.Detection;

/// <summary>The check algorithms of the formats that have one. Inputs are normalised ASCII; separators are skipped.</summary>
public static class Checksums
{
    /// <summary>Luhn (ISO/IEC 7812-1) over the digits of <paramref name="value"/>.</summary>
    public static bool Luhn(ReadOnlySpan<char> value)
    {
        var sum = 0;
        var count = 0;
        var doubleIt = false;
        for (var i = value.Length - 1; i >= 0; i--)
        {
            var c = value[i];
            if (c is ' ' or '-')
            {
                continue;
            }

            if (c is < '0' or > '9')
            {
                return false;
            }

            var digit = c - '0';
            if (doubleIt)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
            doubleIt = !doubleIt;
            count++;
        }

        return count > 1 && sum % 10 == 0;
    }

    /// <summary>ISO 13616 IBAN check: move the first four characters to the end, letters to 10..35, the number mod 97 is 1.</summary>
    public static bool IbanMod97(ReadOnlySpan<char> value)
    {
        Span<char> compact = stackalloc char[34];
        var length = 0;
        foreach (var c in value)
        {
            if (c == ' ')
            {
                continue;
            }

            if (length == compact.Length || !char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }

            compact[length++] = char.ToUpperInvariant(c);
        }

        if (length < 15 || !char.IsAsciiLetter(compact[0]) || !char.IsAsciiLetter(compact[1]) || !char.IsAsciiDigit(compact[2]) || !char.IsAsciiDigit(compact[3]))
        {
            return false;
        }

        if (IbanLengths.TryGetValue(new string(compact[..2]), out var expected) && expected != length)
        {
            return false;
        }

        var remainder = 0;
        for (var k = 0; k < length; k++)
        {
            var c = compact[(k + 4) % length];
            if (char.IsAsciiDigit(c))
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else
            {
                remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
            }
        }

        return remainder == 1;
    }

    /// <summary>
    /// Mainland China resident identity number (GB 11643-1999): 17 digits and a check character by ISO 7064 MOD 11-2,
    /// with a real calendar date of birth at positions 7-14.
    /// </summary>
    public static bool ChinaResidentId(ReadOnlySpan<char> value)
    {
        if (value.Length != 18)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            if (!char.IsAsciiDigit(value[i]))
            {
                return false;
            }

            // Weight of position i is 2^(17-i) mod 11.
            sum += (value[i] - '0') * ResidentIdWeights[i];
        }

        var check = "10X98765432"[sum % 11];
        if (char.ToUpperInvariant(value[17]) != check)
        {
            return false;
        }

        return DateOnly.TryParseExact(value.Slice(6, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
    }

    /// <summary>True when positions 7-14 of an 18-character value are a real date from 1800 on (the resident id shape).</summary>
    public static bool HasResidentIdBirthDate(ReadOnlySpan<char> value)
        => value.Length == 18
            && value.Slice(6, 2) is "18" or "19" or "20"
            && DateOnly.TryParseExact(value.Slice(6, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>Unified social credit code (GB 32100-2015): 17 characters and a check character, weights 3^i mod 31.</summary>
    public static bool UnifiedSocialCreditCode(ReadOnlySpan<char> value)
    {
        if (value.Length != 18)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            var index = UsccAlphabet.IndexOf(char.ToUpperInvariant(value[i]));
            if (index < 0)
            {
                return false;
            }

            sum += index * UsccWeights[i];
        }

        var checkIndex = (31 - (sum % 31)) % 31;
        return char.ToUpperInvariant(value[17]) == UsccAlphabet[checkIndex];
    }

    /// <summary>
    /// US social security number rules (no checksum exists): area not 000, 666 or 900-999; group not 00; serial not 0000;
    /// not one repeated digit; not the well-known advertising numbers.
    /// </summary>
    public static bool UsSocialSecurityNumber(ReadOnlySpan<char> value)
    {
        Span<char> digits = stackalloc char[9];
        var count = 0;
        foreach (var c in value)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == 9)
                {
                    return false;
                }

                digits[count++] = c;
            }
        }

        if (count != 9)
        {
            return false;
        }

        var area = int.Parse(digits[..3], CultureInfo.InvariantCulture);
        var group = int.Parse(digits.Slice(3, 2), CultureInfo.InvariantCulture);
        var serial = int.Parse(digits[5..], CultureInfo.InvariantCulture);
        if (area is 0 or 666 or >= 900 || group == 0 || serial == 0)
        {
            return false;
        }

        var text = new string(digits);
        return text.Distinct().Count() > 1 && text is not ("078051120" or "123456789" or "219099999");
    }

    private const string UsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    private static readonly int[] ResidentIdWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

    private static readonly int[] UsccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

    /// <summary>IBAN lengths of the countries most often seen; others are accepted at any length from 15 to 34.</summary>
    private static readonly Dictionary<string, int> IbanLengths = new(StringComparer.Ordinal)
    {
        ["AT"] = 20, ["BE"] = 16, ["CH"] = 21, ["CZ"] = 24, ["DE"] = 22, ["DK"] = 18, ["ES"] = 24, ["FI"] = 18, ["FR"] = 27,
        ["GB"] = 22, ["GR"] = 27, ["HU"] = 28, ["IE"] = 22, ["IT"] = 27, ["LU"] = 20, ["NL"] = 18, ["NO"] = 15, ["PL"] = 28,
        ["PT"] = 25, ["RO"] = 24, ["SE"] = 24, ["SK"] = 24, ["TR"] = 26, ["SA"] = 24, ["AE"] = 23, ["IL"] = 23,
    };
}
