using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Bilevel.Contracts.Internal;

/// <summary>
/// Turns one YAML document into JSON bytes from the parser's event stream, so a YAML spec is checked by the same
/// rules, and names its fields by the same paths, as a JSON one. Plain scalars are typed by the YAML 1.2 core
/// schema; aliases are refused (a few of them expand into gigabytes), as are nesting past the limit and more than
/// one document. Streaming keeps deep input from ever recursing.
/// </summary>
internal static partial class YamlToJson
{
    private const string StringTag = "tag:yaml.org,2002:str";

    public static byte[]? Convert(string yaml, int maxDepth, SpecErrors errors)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = maxDepth + 1 });
        var path = new PathStack();
        var documents = 0;
        try
        {
            var parser = new Parser(new StringReader(yaml));
            while (parser.MoveNext())
            {
                if (!Write(parser.Current!, writer, path, maxDepth, ref documents, errors))
                    return null;
            }
        }
        catch (YamlException e)
        {
            errors.Add(path.Current(), $"is not valid YAML (line {e.Start.Line}, column {e.Start.Column}): {e.Message}");
            return null;
        }
        if (documents == 0)
        {
            errors.Add(JsonPathText.Root, "the document is empty; a sweep spec is a mapping with at least name, task, estimator or schedule, and outerSteps");
            return null;
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static bool Write(ParsingEvent e, Utf8JsonWriter writer, PathStack path, int maxDepth, ref int documents, SpecErrors errors)
    {
        switch (e)
        {
            case DocumentStart:
                if (++documents > 1)
                {
                    errors.Add(JsonPathText.Root, "holds more than one YAML document; a spec is one document");
                    return false;
                }
                return true;
            case AnchorAlias:
                errors.Add(path.Current(), "uses a YAML alias (*name); aliases are not allowed in a sweep spec, write the value out");
                return false;
            case MappingStart or SequenceStart:
                if (path.ExpectsKey)
                {
                    errors.Add(path.Current(), "has a key that is a mapping or a sequence; keys must be plain names");
                    return false;
                }
                if (path.Depth >= maxDepth)
                {
                    errors.Add(path.Current(), $"nests deeper than {maxDepth} levels of objects and arrays");
                    return false;
                }
                var isArray = e is SequenceStart;
                if (isArray)
                    writer.WriteStartArray();
                else
                    writer.WriteStartObject();
                path.Push(isArray);
                return true;
            case MappingEnd:
                writer.WriteEndObject();
                path.Pop();
                return true;
            case SequenceEnd:
                writer.WriteEndArray();
                path.Pop();
                return true;
            case Scalar scalar when path.ExpectsKey:
                writer.WritePropertyName(scalar.Value);
                path.Key(scalar.Value);
                return true;
            case Scalar scalar:
                if (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value != StringTag)
                {
                    errors.Add(path.Current(), $"has the YAML tag {scalar.Tag.Value}; only !!str is allowed (numbers, booleans and null need no tag)");
                    return false;
                }
                WriteScalar(scalar, writer);
                path.ValueDone();
                return true;
            default:
                return true;
        }
    }

    private static void WriteScalar(Scalar scalar, Utf8JsonWriter writer)
    {
        var text = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain || !scalar.Tag.IsEmpty)
        {
            writer.WriteStringValue(text);
            return;
        }
        if (text is "" or "~" or "null" or "Null" or "NULL")
            writer.WriteNullValue();
        else if (text is "true" or "True" or "TRUE")
            writer.WriteBooleanValue(true);
        else if (text is "false" or "False" or "FALSE")
            writer.WriteBooleanValue(false);
        else if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            writer.WriteNumberValue(integer);
        else if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            writer.WriteNumberValue(real);
        else
            // Everything else, .inf and .nan and numbers past double's range included, stays text: the checks
            // that want a number then say so, naming the value.
            writer.WriteStringValue(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Integer();

    [GeneratedRegex("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();
}
