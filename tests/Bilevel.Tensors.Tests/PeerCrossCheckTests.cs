using System.Globalization;
using System.Numerics;
using Bilevel.Nn;
using Bilevel.Tensors.Tests.Peer;

namespace Bilevel.Tensors.Tests;

/// <summary>
/// Loss, gradient and Hessian-vector product of the MLP 784-256-10 and the ConvNet (width 128, MNIST-shaped batch of
/// 100) agree with PyTorch 1.13 on identical inputs: 1e-4 relative in float32, 1e-10 in float64.
/// </summary>
public sealed class PeerCrossCheckTests
{
    private const int Batch = 100;

    [Theory]
    [InlineData("mlp", "float32")]
    [InlineData("mlp", "float64")]
    [InlineData("convnet", "float32")]
    [InlineData("convnet", "float64")]
    public void LossGradientAndHvpMatchPyTorch(string model, string dtype)
    {
        if (dtype == "float64") Check<double>(model, dtype, 1e-10);
        else Check<float>(model, dtype, 1e-4);
    }

    private static void Check<T>(string modelName, string dtype, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        IModel model = modelName == "mlp" ? new Mlp(784, 256, 10) : new ConvNet(1, 28, 28, 10, channels: 128, depth: 3);
        var random = new Random(1234);
        using var scope = TensorScope.Begin();
        var parameters = model.Initialize<T>(seed: 7);
        var xShape = modelName == "mlp" ? new Shape(Batch, 784) : new Shape(Batch, 1, 28, 28);
        var x = Tensor<T>.FromSpan(Enumerable.Range(0, xShape.Length).Select(_ => T.CreateChecked(random.NextDouble())).ToArray(), xShape);
        var labels = Enumerable.Range(0, Batch).Select(_ => random.Next(10)).ToArray();
        var v = Tensor<T>.FromSpan(Enumerable.Range(0, parameters.Length).Select(_ => T.CreateChecked(random.NextDouble() * 2 - 1)).ToArray(), parameters.Shape);

        Func<Tensor<T>[], Tensor<T>> loss = p => Ops.CrossEntropy(model.Forward(p[0], x), labels);
        var (value, gradient) = Autodiff.ValueAndGrad(loss, parameters);
        var (_, hvp) = Autodiff.Jvp(p => Autodiff.Grad(loss, p), [parameters], [v]);

        string dir = Directory.CreateTempSubdirectory("bilevel-peer-").FullName;
        try
        {
            Write(Path.Combine(dir, "params.bin"), parameters);
            Write(Path.Combine(dir, "x.bin"), x);
            Write(Path.Combine(dir, "v.bin"), v);
            RawIO.WriteInt32(Path.Combine(dir, "y.bin"), labels);
            PythonPeer.Run("crosscheck.py", $"--model {modelName} --dtype {dtype} --threads 2 --dir \"{dir}\"", TimeSpan.FromMinutes(5));

            AssertClose("loss", Read<T>(Path.Combine(dir, "loss.bin")), value.Span, tolerance);
            AssertClose("gradient", Read<T>(Path.Combine(dir, "grad.bin")), gradient[0].Span, tolerance);
            AssertClose("hvp", Read<T>(Path.Combine(dir, "hvp.bin")), hvp[0].Span, tolerance);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Write<T>(string path, Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) RawIO.WriteFloat32(path, t.ToArray().Cast<float>().ToArray());
        else RawIO.WriteFloat64(path, t.ToArray().Cast<double>().ToArray());
    }

    private static double[] Read<T>(string path) where T : unmanaged, IFloatingPointIeee754<T>
        => typeof(T) == typeof(float) ? RawIO.ReadFloat32(path).Select(f => (double)f).ToArray() : RawIO.ReadFloat64(path);

    /// <summary>Normwise relative error ‖ours − torch‖ / ‖torch‖, the measure that does not blow up on tiny entries.</summary>
    private static void AssertClose<T>(string what, double[] torch, ReadOnlySpan<T> ours, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(torch.Length, ours.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < torch.Length; i++)
        {
            double o = double.CreateChecked(ours[i]);
            Assert.False(double.IsNaN(o), $"{what}[{i}] is NaN");
            diff += (o - torch[i]) * (o - torch[i]);
            norm += torch[i] * torch[i];
        }
        double relative = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), double.Epsilon);
        Assert.True(relative <= tolerance,
            string.Create(CultureInfo.InvariantCulture, $"{what}: relative error {relative:E3} against PyTorch exceeds {tolerance:E1} (‖torch‖ = {Math.Sqrt(norm):E3})."));
    }
}
