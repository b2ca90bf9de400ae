using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Bilevel.Contracts;

namespace Bilevel.Grid.Internal;

/// <summary>
/// The keyset cursor of a trial listing: the sort column and direction it belongs to, and the last row's sort value
/// and id. Opaque to clients (base64url); a cursor from another sort order is refused rather than misread.
/// </summary>
internal readonly record struct TrialCursor(TrialSortField SortBy, bool Descending, long Value, long Id)
{
    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
        string.Create(CultureInfo.InvariantCulture, $"t1|{SortBy}|{(Descending ? 'd' : 'a')}|{Value}|{Id}")));

    public static TrialCursor Decode(string cursor, TrialSortField sortBy, bool descending)
    {
        string[] parts;
        try
        {
            parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('|');
        }
        catch (FormatException)
        {
            throw Invalid();
        }
        if (parts.Length != 5 || parts[0] != "t1"
            || !Enum.TryParse<TrialSortField>(parts[1], out var field) || field != sortBy
            || parts[2] != (descending ? "d" : "a")
            || !long.TryParse(parts[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || !long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            throw Invalid();
        }
        return new TrialCursor(field, descending, value, id);
    }

    private static ArgumentException Invalid() =>
        new("The cursor is not one this listing returned with the same sort order; start again without a cursor.", "cursor");
}
