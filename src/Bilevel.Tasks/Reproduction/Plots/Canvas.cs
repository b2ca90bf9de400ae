namespace Bilevel.Tasks.Reproduction.Plots;

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static Rgb White { get; } = new(255, 255, 255);

    public static Rgb Black { get; } = new(0, 0, 0);

    public static Rgb Grey { get; } = new(200, 200, 200);

    /// <summary>Distinct colours for series (Tableau 10).</summary>
    public static IReadOnlyList<Rgb> Palette { get; } =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];
}

/// <summary>A pixel buffer with lines, rectangles and text in a built-in 3×5 bitmap font; saved as PNG.</summary>
public sealed class Canvas
{
    private readonly byte[] pixels;

    public Canvas(int width, int height, Rgb background)
    {
        if (width < 1 || height < 1 || (long)width * height > 64_000_000)
            throw new ArgumentOutOfRangeException(nameof(width), $"canvas: size {width}×{height} is outside 1×1 .. 64 megapixels.");
        Width = width;
        Height = height;
        pixels = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Rows of R, G, B bytes, top row first.</summary>
    public ReadOnlySpan<byte> Pixels => pixels;

    public Rgb Get(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return new Rgb(pixels[i], pixels[i + 1], pixels[i + 2]);
    }

    /// <summary>Sets one pixel; points outside the canvas are ignored (clipping).</summary>
    public void Set(int x, int y, Rgb color)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        pixels[i] = color.R;
        pixels[i + 1] = color.G;
        pixels[i + 2] = color.B;
    }

    public void FillRect(int x, int y, int width, int height, Rgb color)
    {
        for (int j = Math.Max(0, y); j < Math.Min(Height, y + height); j++)
            for (int i = Math.Max(0, x); i < Math.Min(Width, x + width); i++) Set(i, j, color);
    }

    /// <summary>A straight line (Bresenham) of the given thickness in pixels.</summary>
    public void Line(int x0, int y0, int x1, int y1, Rgb color, int thickness = 1)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int error = dx + dy;
        int lo = -(thickness - 1) / 2, hi = thickness / 2;
        for (int guard = 0; guard < 1 << 16; guard++)
        {
            for (int a = lo; a <= hi; a++)
                for (int b = lo; b <= hi; b++) Set(x0 + a, y0 + b, color);
            if (x0 == x1 && y0 == y1) return;
            int e2 = 2 * error;
            if (e2 >= dy)
            {
                error += dy;
                x0 += sx;
            }
            if (e2 <= dx)
            {
                error += dx;
                y0 += sy;
            }
        }
    }

    /// <summary>Text in the 3×5 font scaled by <paramref name="scale"/>; (x, y) is its top-left corner. Letters print as capitals.</summary>
    public void Text(int x, int y, string text, Rgb color, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (char ch in text)
        {
            var glyph = BitmapFont.Glyph(ch);
            for (int row = 0; row < 5; row++)
                for (int col = 0; col < 3; col++)
                    if ((glyph[row] >> (2 - col) & 1) != 0) FillRect(x + col * scale, y + row * scale, scale, scale, color);
            x += BitmapFont.Advance * scale;
        }
    }

    /// <summary>Text rotated a quarter turn counter-clockwise (reads bottom to top); (x, y) is the top-left of its box.</summary>
    public void TextVertical(int x, int y, string text, Rgb color, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(text);
        int bottom = y + TextWidth(text, scale);
        foreach (char ch in text)
        {
            var glyph = BitmapFont.Glyph(ch);
            for (int row = 0; row < 5; row++)
                for (int col = 0; col < 3; col++)
                    if ((glyph[row] >> (2 - col) & 1) != 0) FillRect(x + row * scale, bottom - (col + 1) * scale, scale, scale, color);
            bottom -= BitmapFont.Advance * scale;
        }
    }

    public static int TextWidth(string text, int scale = 2) => text.Length == 0 ? 0 : (text.Length * BitmapFont.Advance - 1) * scale;

    public byte[] ToPng() => PngWriter.Encode(Width, Height, pixels);
}

/// <summary>A 3×5 bitmap font: digits, capitals and the punctuation plots need. Each glyph is 5 rows of 3 bits.</summary>
internal static class BitmapFont
{
    /// <summary>Horizontal advance per character in font pixels (3 wide + 1 space).</summary>
    public const int Advance = 4;

    private static readonly Dictionary<char, byte[]> Glyphs = Build();

    public static byte[] Glyph(char ch)
        => Glyphs.TryGetValue(char.ToUpperInvariant(ch), out var g) ? g : Glyphs['?'];

    private static Dictionary<char, byte[]> Build()
    {
        // Rows top to bottom, '#' = ink.
        var source = new Dictionary<char, string>
        {
            ['0'] = "### #.# #.# #.# ###", ['1'] = ".#. ##. .#. .#. ###", ['2'] = "### ..# ### #.. ###", ['3'] = "### ..# ### ..# ###",
            ['4'] = "#.# #.# ### ..# ..#", ['5'] = "### #.. ### ..# ###", ['6'] = "### #.. ### #.# ###", ['7'] = "### ..# ..# ..# ..#",
            ['8'] = "### #.# ### #.# ###", ['9'] = "### #.# ### ..# ###",
            ['A'] = ".#. #.# ### #.# #.#", ['B'] = "##. #.# ##. #.# ##.", ['C'] = ".## #.. #.. #.. .##", ['D'] = "##. #.# #.# #.# ##.",
            ['E'] = "### #.. ##. #.. ###", ['F'] = "### #.. ##. #.. #..", ['G'] = ".## #.. #.# #.# .##", ['H'] = "#.# #.# ### #.# #.#",
            ['I'] = "### .#. .#. .#. ###", ['J'] = "..# ..# ..# #.# .#.", ['K'] = "#.# #.# ##. #.# #.#", ['L'] = "#.. #.. #.. #.. ###",
            ['M'] = "#.# ### ### #.# #.#", ['N'] = "##. #.# #.# #.# #.#", ['O'] = ".#. #.# #.# #.# .#.", ['P'] = "##. #.# ##. #.. #..",
            ['Q'] = ".#. #.# #.# ##. .##", ['R'] = "##. #.# ##. #.# #.#", ['S'] = ".## #.. .#. ..# ##.", ['T'] = "### .#. .#. .#. .#.",
            ['U'] = "#.# #.# #.# #.# ###", ['V'] = "#.# #.# #.# #.# .#.", ['W'] = "#.# #.# ### ### #.#", ['X'] = "#.# #.# .#. #.# #.#",
            ['Y'] = "#.# #.# .#. .#. .#.", ['Z'] = "### ..# .#. #.. ###",
            [' '] = "... ... ... ... ...", ['.'] = "... ... ... ... .#.", [','] = "... ... ... .#. #..", ['-'] = "... ... ### ... ...",
            ['+'] = "... .#. ### .#. ...", ['('] = ".#. #.. #.. #.. .#.", [')'] = ".#. ..# ..# ..# .#.", ['='] = "... ### ... ### ...",
            [':'] = "... .#. ... .#. ...", ['/'] = "..# ..# .#. #.. #..", ['%'] = "#.# ..# .#. #.. #.#", ['_'] = "... ... ... ... ###",
            ['?'] = "### ..# .#. ... .#.", ['>'] = "#.. .#. ..# .#. #..", ['<'] = "..# .#. #.. .#. ..#", ['['] = "##. #.. #.. #.. ##.",
            [']'] = ".## ..# ..# ..# .##", ['\''] = ".#. .#. ... ... ...", ['*'] = "... #.# .#. #.# ...", ['|'] = ".#. .#. .#. .#. .#.",
        };
        var glyphs = new Dictionary<char, byte[]>();
        foreach (var (ch, rows) in source)
        {
            var parts = rows.Split(' ');
            var bits = new byte[5];
            for (int r = 0; r < 5; r++)
                for (int c = 0; c < 3; c++)
                    if (parts[r][c] == '#') bits[r] |= (byte)(1 << (2 - c));
            glyphs[ch] = bits;
        }
        return glyphs;
    }
}
