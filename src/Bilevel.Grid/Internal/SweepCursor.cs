using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Bilevel.Grid.Internal;

/// <summary>The keyset cursor of a sweep listing (newest first): the last sweep id shown. Opaque to clients.</summary>
internal static class SweepCursor
{
    public static string Encode(long lastId) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"s1|{lastId}")));

    public static long Decode(string cursor)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('|');
            if (parts.Length == 2 && parts[0] == "s1" && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                return id;
        }
        catch (FormatException)
        {
        }
        throw new ArgumentException("The cursor is not one a sweep listing returned; start again without a cursor.", nameof(cursor));
    }
}
