using System.Text;

namespace Bilevel.Contracts.Internal;

/// <summary>Builds the JSON paths errors name: <c>$.a.b[2]</c>, with bracket notation for names that need it.</summary>
internal static class JsonPathText
{
    public const string Root = "$";

    public static string Property(string parent, string name) =>
        IsPlainName(name) ? $"{parent}.{name}" : $"{parent}['{Escape(name)}']";

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    private static bool IsPlainName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                return false;
        }
        return true;
    }

    // Names come from user documents: keep paths printable and short enough to read in one line.
    private static string Escape(string name)
    {
        const int maxShown = 64;
        var sb = new StringBuilder();
        foreach (var c in name.Length > maxShown ? name[..maxShown] : name)
        {
            sb.Append(c switch
            {
                '\'' => "\\'",
                '\\' => "\\\\",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        if (name.Length > maxShown)
            sb.Append('…');
        return sb.ToString();
    }
}
