using System.Text.Json;

namespace Bilevel.Contracts.Internal;

/// <summary>
/// Streams a JSON document once before it is parsed, to report a syntax error with its line, or nesting past the
/// limit with the path where it happens, instead of an exception.
/// </summary>
internal static class JsonSyntaxCheck
{
    public static bool Check(ReadOnlySpan<byte> json, int maxDepth, SpecErrors errors)
    {
        // One level of headroom so this check, not the reader, is the one that sees a too-deep document.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        var path = new PathStack();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (path.Depth >= maxDepth)
                        {
                            errors.Add(path.Current(), $"nests deeper than {maxDepth} levels of objects and arrays");
                            return false;
                        }
                        path.Push(reader.TokenType == JsonTokenType.StartArray);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        path.Key(reader.GetString()!);
                        break;
                    default:
                        path.ValueDone();
                        break;
                }
            }
            return true;
        }
        catch (JsonException e)
        {
            errors.Add(path.Current(), $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {FirstSentence(e.Message)}");
            return false;
        }
    }

    // The reader's message ends with its own position and path, already given above.
    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
