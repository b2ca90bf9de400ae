using System.Globalization;

namespace Bilevel.Tasks.Tests.Peer;

/// <summary>Comparisons of our values with the PyTorch peer's on identical inputs.</summary>
internal static class PeerAssert
{
    /// <summary>
    /// Normwise relative error ‖ours − torch‖ / ‖torch‖ ≤ <paramref name="tolerance"/>; prints the error so that a run
    /// shows how close the two are, not only that they pass.
    /// </summary>
    public static void Close(string what, ReadOnlySpan<double> torch, ReadOnlySpan<double> ours, double tolerance)
    {
        Assert.Equal(torch.Length, ours.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < torch.Length; i++)
        {
            Assert.True(double.IsFinite(ours[i]), $"{what}[{i}] is {ours[i]}");
            diff += (ours[i] - torch[i]) * (ours[i] - torch[i]);
            norm += torch[i] * torch[i];
        }
        Assert.True(norm > 0, $"{what}: PyTorch's value is zero, which would make the comparison vacuous");
        double relative = Math.Sqrt(diff / norm);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: relative error {relative:E2} vs PyTorch"));
        Assert.True(relative <= tolerance, string.Create(CultureInfo.InvariantCulture, $"{what}: relative error {relative:E3} vs PyTorch exceeds {tolerance:E0}"));
    }

    public static void Close(string what, double torch, double ours, double tolerance) => Close(what, [torch], [ours], tolerance);
}
