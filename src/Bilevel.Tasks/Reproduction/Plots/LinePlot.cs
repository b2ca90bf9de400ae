using System.Globalization;

namespace Bilevel.Tasks.Reproduction.Plots;

/// <summary>One named line of a plot; points with a non-finite coordinate (or y ≤ 0 on a log axis) are skipped.</summary>
public sealed record PlotSeries(string Name, IReadOnlyList<(double X, double Y)> Points, Rgb? Color = null);

/// <summary>
/// A line plot rendered to PNG: axes with 1-2-5 ticks (powers of ten on a log y axis) labelled in the bitmap font, a
/// light grid, one coloured polyline with point markers per series, and a legend of coloured lines with the names.
/// </summary>
public sealed class LinePlot
{
    private const int Scale = 2;
    private const int Glyph = 5 * Scale;

    public LinePlot(string title, string xLabel, string yLabel, bool logY = false)
    {
        Title = title;
        XLabel = xLabel;
        YLabel = yLabel;
        LogY = logY;
    }

    public string Title { get; }

    public string XLabel { get; }

    public string YLabel { get; }

    public bool LogY { get; }

    public bool LogX { get; init; }

    public List<PlotSeries> Series { get; } = [];

    public LinePlot Add(string name, IEnumerable<(double X, double Y)> points, Rgb? color = null)
    {
        Series.Add(new PlotSeries(name, points.ToArray(), color));
        return this;
    }

    public void Save(string path, int width = 900, int height = 540) => File.WriteAllBytes(path, Render(width, height).ToPng());

    public Canvas Render(int width = 900, int height = 540)
    {
        var canvas = new Canvas(width, height, Rgb.White);
        int left = 100, right = width - 20, top = 20 + 2 * Glyph, bottom = height - 30 - 2 * Glyph;
        if (right - left < 50 || bottom - top < 50) throw new ArgumentOutOfRangeException(nameof(width), $"plot: {width}×{height} leaves no room for the axes.");
        canvas.Text((width - Canvas.TextWidth(Title, Scale)) / 2, 10, Title, Rgb.Black, Scale);

        var visible = Series.Select(s => s.Points.Where(p => Usable(p.X, LogX) && Usable(p.Y, LogY)).Select(p => (X: Map(p.X, LogX), Y: Map(p.Y, LogY))).ToArray()).ToArray();
        var all = visible.SelectMany(p => p).ToArray();
        double xMin = all.Length == 0 ? 0 : all.Min(p => p.X), xMax = all.Length == 0 ? 1 : all.Max(p => p.X);
        double yMin = all.Length == 0 ? 0 : all.Min(p => p.Y), yMax = all.Length == 0 ? 1 : all.Max(p => p.Y);
        (xMin, xMax) = Widen(xMin, xMax);
        (yMin, yMax) = Widen(yMin, yMax);
        double margin = 0.04 * (yMax - yMin);
        (yMin, yMax) = (yMin - margin, yMax + margin);
        var xTicks = Ticks(xMin, xMax, LogX);
        var yTicks = Ticks(yMin, yMax, LogY);
        if (!LogX && xTicks.Length > 0) (xMin, xMax) = (Math.Min(xMin, xTicks[0]), Math.Max(xMax, xTicks[^1]));
        if (!LogY && yTicks.Length > 0) (yMin, yMax) = (Math.Min(yMin, yTicks[0]), Math.Max(yMax, yTicks[^1]));
        int Px(double x) => left + (int)Math.Round((x - xMin) / (xMax - xMin) * (right - left));
        int Py(double y) => bottom - (int)Math.Round((y - yMin) / (yMax - yMin) * (bottom - top));

        foreach (double t in xTicks)
        {
            int x = Px(t);
            canvas.Line(x, top, x, bottom, Rgb.Grey);
            canvas.Line(x, bottom, x, bottom + 5, Rgb.Black);
            string label = Label(t, LogX);
            canvas.Text(x - Canvas.TextWidth(label, Scale) / 2, bottom + 9, label, Rgb.Black, Scale);
        }
        foreach (double t in yTicks)
        {
            int y = Py(t);
            canvas.Line(left, y, right, y, Rgb.Grey);
            canvas.Line(left - 5, y, left, y, Rgb.Black);
            string label = Label(t, LogY);
            canvas.Text(left - 9 - Canvas.TextWidth(label, Scale), y - Glyph / 2, label, Rgb.Black, Scale);
        }
        canvas.Line(left, top, left, bottom, Rgb.Black);
        canvas.Line(left, bottom, right, bottom, Rgb.Black);
        canvas.Text((left + right - Canvas.TextWidth(XLabel, Scale)) / 2, height - 8 - Glyph, XLabel, Rgb.Black, Scale);
        canvas.TextVertical(8, (top + bottom - Canvas.TextWidth(YLabel, Scale)) / 2, YLabel, Rgb.Black, Scale);

        for (int s = 0; s < Series.Count; s++)
        {
            var color = ColorOf(s);
            var points = visible[s];
            for (int i = 0; i < points.Length; i++)
            {
                int x = Px(points[i].X), y = Py(points[i].Y);
                canvas.FillRect(x - 2, y - 2, 5, 5, color);
                if (i > 0) canvas.Line(Px(points[i - 1].X), Py(points[i - 1].Y), x, y, color, thickness: 2);
            }
        }

        // Legend: a coloured line and the name per series, in a boxed column at the top right.
        if (Series.Count > 0)
        {
            int rowHeight = Glyph + 6;
            int boxWidth = 40 + Series.Max(s => Canvas.TextWidth(s.Name, Scale)) + 16;
            int boxHeight = Series.Count * rowHeight + 8;
            int bx = right - boxWidth - 6, by = top + 6;
            canvas.FillRect(bx, by, boxWidth, boxHeight, Rgb.White);
            canvas.Line(bx, by, bx + boxWidth, by, Rgb.Black);
            canvas.Line(bx, by + boxHeight, bx + boxWidth, by + boxHeight, Rgb.Black);
            canvas.Line(bx, by, bx, by + boxHeight, Rgb.Black);
            canvas.Line(bx + boxWidth, by, bx + boxWidth, by + boxHeight, Rgb.Black);
            for (int s = 0; s < Series.Count; s++)
            {
                int y = by + 6 + s * rowHeight + Glyph / 2;
                canvas.Line(bx + 8, y, bx + 36, y, ColorOf(s), thickness: 3);
                canvas.Text(bx + 44, y - Glyph / 2, Series[s].Name, Rgb.Black, Scale);
            }
        }
        return canvas;
    }

    private Rgb ColorOf(int s) => Series[s].Color ?? Rgb.Palette[s % Rgb.Palette.Count];

    private static bool Usable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double Map(double v, bool log) => log ? Math.Log10(v) : v;

    private static (double Low, double High) Widen(double low, double high)
    {
        if (high > low) return (low, high);
        double pad = Math.Abs(low) > 0 ? Math.Abs(low) * 0.05 : 0.5;
        return (low - pad, high + pad);
    }

    /// <summary>Tick positions in axis units (log10 of the value on a log axis).</summary>
    private static double[] Ticks(double low, double high, bool log)
    {
        if (log)
        {
            var decades = new List<double>();
            for (double k = Math.Ceiling(low - 1e-9); k <= high + 1e-9; k++) decades.Add(k);
            if (decades.Count >= 2) return [.. decades];
            // Less than a decade: 1-2-5 ticks of the values, placed on the log axis.
            return Ticks(Math.Pow(10, low), Math.Pow(10, high), false).Where(v => v > 0).Select(Math.Log10).Where(v => v >= low - 1e-9 && v <= high + 1e-9).ToArray();
        }
        double raw = (high - low) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (double t = Math.Floor(low / step) * step; t <= high + step * 1e-9; t += step)
            if (t >= low - step * 1e-9) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return [.. ticks];
    }

    private static string Label(double t, bool log)
    {
        double v = log ? Math.Pow(10, t) : t;
        if (v == 0) return "0";
        double a = Math.Abs(v);
        if (a >= 1e-3 && a < 1e5) return v.ToString("0.###", CultureInfo.InvariantCulture);
        return v.ToString("0.#E+0", CultureInfo.InvariantCulture);
    }
}
