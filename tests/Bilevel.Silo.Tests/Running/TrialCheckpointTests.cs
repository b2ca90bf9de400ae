using Bilevel.Grid.Running;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;

namespace Bilevel.Silo.Tests.Running;

/// <summary>The checkpoint format: exact round trips, and clear refusals of what is not a version-1 checkpoint.</summary>
public sealed class TrialCheckpointTests
{
    private static TrialCheckpoint Sample() => new()
    {
        OuterStep = 17,
        Precision = TrialPrecision.Float64,
        Threads = 2,
        Fingerprint = 0xDEADBEEFCAFEF00D,
        BestLoss = 0.125,
        BestStep = 12,
        Phi = BitConverter.GetBytes(Math.PI).Concat(BitConverter.GetBytes(-0.0)).Concat(BitConverter.GetBytes(double.Epsilon)).ToArray(),
        OptimizerSteps = 17,
        OptimizerBuffers = [[1.0 / 3, 2e-300, 3], [4, 5, 6]],
        Schedule = new TwoPhaseState(Phase.Two, 9, [3.5, 2.25]),
        KfacStates = new Dictionary<string, KfacState>
        {
            ["phase2"] = new(16, 3, [new KfacLayerFactors("fc1", 2, 1, [1, 0.5, 0.5, 2], [0.7])]),
        },
    };

    [Fact]
    public void Round_trips_every_field_bit_for_bit()
    {
        var original = Sample();
        var read = TrialCheckpoint.Parse(original.ToBytes());

        Assert.Equal(original.OuterStep, read.OuterStep);
        Assert.Equal(original.Precision, read.Precision);
        Assert.Equal(original.Threads, read.Threads);
        Assert.Equal(original.Fingerprint, read.Fingerprint);
        Assert.Equal(original.BestLoss, read.BestLoss);
        Assert.Equal(original.BestStep, read.BestStep);
        Assert.Equal(original.Phi, read.Phi);
        Assert.Equal([Math.PI, -0.0, double.Epsilon], read.PhiValues());
        Assert.True(double.IsNegative(read.PhiValues()[1]), "the sign of -0.0 survives");
        Assert.Equal(original.OptimizerSteps, read.OptimizerSteps);
        Assert.Equal(original.OptimizerBuffers, read.OptimizerBuffers);
        Assert.Equal(original.Schedule!.Phase, read.Schedule!.Phase);
        Assert.Equal(original.Schedule.SwitchStep, read.Schedule.SwitchStep);
        Assert.Equal(original.Schedule.RecentLosses, read.Schedule.RecentLosses);
        var kfac = read.KfacStates["phase2"];
        Assert.Equal((16L, 3), (kfac.Step, kfac.Updates));
        var layer = Assert.Single(kfac.Layers);
        Assert.Equal(("fc1", 2, 1), (layer.Layer, layer.InputSize, layer.OutputSize));
        Assert.Equal([1, 0.5, 0.5, 2], layer.A);
        Assert.Equal([0.7], layer.G);
        Assert.Equal(original.ToBytes(), read.ToBytes());
    }

    [Fact]
    public void Refuses_corrupt_truncated_foreign_and_newer_payloads()
    {
        var bytes = Sample().ToBytes();

        var flipped = (byte[])bytes.Clone();
        flipped[40] ^= 1;
        Assert.Contains("digest", Assert.Throws<CheckpointFormatException>(() => TrialCheckpoint.Parse(flipped)).Message, StringComparison.Ordinal);
        Assert.Throws<CheckpointFormatException>(() => TrialCheckpoint.Parse(bytes[..^5]));
        Assert.Contains("BLCK", Assert.Throws<CheckpointFormatException>(() => TrialCheckpoint.Parse("{\"phi\": [1, 2]}"u8.ToArray())).Message, StringComparison.Ordinal);
        Assert.Throws<CheckpointFormatException>(() => TrialCheckpoint.Parse([]));

        var newer = (byte[])bytes[..^32].Clone();
        newer[4] = 2;
        var resealed = newer.Concat(System.Security.Cryptography.SHA256.HashData(newer)).ToArray();
        Assert.Contains("version 2", Assert.Throws<CheckpointFormatException>(() => TrialCheckpoint.Parse(resealed)).Message, StringComparison.Ordinal);
    }
}
