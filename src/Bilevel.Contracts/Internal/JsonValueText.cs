using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>Describes a JSON value in an error message: its kind, and its text when that is short.</summary>
internal static class JsonValueText
{
    private const int MaxShown = 40;

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => $"an array of {value.GetArrayLength()} items",
        JsonValueKind.String => $"the string {Shorten(value.GetRawText())}",
        JsonValueKind.Number => $"the number {Shorten(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Shorten(string text) => text.Length <= MaxShown ? text : text[..MaxShown] + "…";
}
