using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Bilevel.Hypergradients;
using Bilevel.Hypergradients.Estimators;

namespace Bilevel.Grid.Running;

/// <summary>
/// Everything a trial needs to continue after <see cref="OuterStep"/> outer steps exactly as an uninterrupted run
/// would: φ bit for bit, the outer optimizer's step count and buffers, the two-phase schedule's state, estimator
/// state (KFAC factors) and the best loss so far. The randomness needs no state: it is keyed by (seed, outer step,
/// purpose). Stored as the opaque payload of <see cref="CheckpointRecord"/> in the binary format below.
/// </summary>
/// <remarks>
/// <para>Format version 1, little-endian; strings are a 32-bit byte count and UTF-8; arrays a 32-bit count and
/// their elements:</para>
/// <code>
/// magic "BLCK" · u16 version (1) · u8 precision (8 = float64, 4 = float32) · i32 outer step · i32 threads
/// u64 configuration fingerprint · f64 best outer loss · i32 step of the best loss (-1: none yet)
/// i32 N · N elements of φ in the trial's precision (raw IEEE 754 bits)
/// i64 outer-optimizer steps · i32 buffer count · per buffer: i32 length, f64[length]
/// u8 has schedule · [u8 phase (1|2) · u8 has switch step · i64 switch step · i32 count · f64[count] recent losses]
/// i32 estimator states · per state: string role ("estimator", "phase1", "phase2") · string kind ("kfac") ·
///     i32 payload length · payload (kfac: i64 step · i32 updates · i32 layers · per layer: string name ·
///     i32 input size · i32 output size · f64[in²] A · f64[out²] G)
/// 32 bytes: SHA-256 of everything before
/// </code>
/// <para>A reader refuses other magics, newer versions, truncated or trailing data and a wrong digest with a
/// <see cref="CheckpointFormatException"/>.</para>
/// </remarks>
public sealed record TrialCheckpoint
{
    public const ushort FormatVersion = 1;

    private static ReadOnlySpan<byte> Magic => "BLCK"u8;

    private const int DigestLength = 32;

    /// <summary>Outer steps completed: the next step to run is this one (0-based).</summary>
    public required int OuterStep { get; init; }

    public required TrialPrecision Precision { get; init; }

    /// <summary>Compute threads of the run that wrote it; bit-identical resumption needs the same count.</summary>
    public int Threads { get; init; } = 1;

    public ulong Fingerprint { get; init; }

    /// <summary>The smallest outer loss seen so far, and its step (-1 with +∞ before the first step).</summary>
    public double BestLoss { get; init; } = double.PositiveInfinity;

    public int BestStep { get; init; } = -1;

    /// <summary>φ as raw little-endian elements of <see cref="Precision"/>.</summary>
    public required byte[] Phi { get; init; }

    public long OptimizerSteps { get; init; }

    public IReadOnlyList<double[]> OptimizerBuffers { get; init; } = [];

    public TwoPhaseState? Schedule { get; init; }

    /// <summary>KFAC factors by role: "estimator", "phase1" or "phase2".</summary>
    public IReadOnlyDictionary<string, KfacState> KfacStates { get; init; } = new Dictionary<string, KfacState>();

    public int PhiLength => Phi.Length / (int)Precision;

    /// <summary>φ widened to double (exact for both precisions).</summary>
    public double[] PhiValues() => Precision == TrialPrecision.Float64
        ? MemoryMarshal.Cast<byte, double>(Phi).ToArray()
        : [.. MemoryMarshal.Cast<byte, float>(Phi).ToArray().Select(f => (double)f)];

    public byte[] ToBytes()
    {
        EnsureLittleEndian();
        using var stream = new MemoryStream(64 + Phi.Length);
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write((byte)Precision);
            w.Write(OuterStep);
            w.Write(Threads);
            w.Write(Fingerprint);
            w.Write(BestLoss);
            w.Write(BestStep);
            w.Write(PhiLength);
            w.Write(Phi);
            w.Write(OptimizerSteps);
            w.Write(OptimizerBuffers.Count);
            foreach (var buffer in OptimizerBuffers)
                WriteDoubles(w, buffer);
            w.Write(Schedule is not null);
            if (Schedule is { } s)
            {
                w.Write((byte)s.Phase);
                w.Write(s.SwitchStep.HasValue);
                w.Write(s.SwitchStep ?? 0);
                WriteDoubles(w, s.RecentLosses);
            }
            w.Write(KfacStates.Count);
            foreach (var (role, state) in KfacStates.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                WriteString(w, role);
                WriteString(w, "kfac");
                var payload = KfacPayload(state);
                w.Write(payload.Length);
                w.Write(payload);
            }
        }
        var body = stream.ToArray();
        var result = new byte[body.Length + DigestLength];
        body.CopyTo(result, 0);
        SHA256.HashData(body, result.AsSpan(body.Length));
        return result;
    }

    /// <exception cref="CheckpointFormatException">The payload is not a version-1 checkpoint or is corrupt.</exception>
    public static TrialCheckpoint Parse(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        EnsureLittleEndian();
        if (payload.Length < Magic.Length + 2 + DigestLength || !payload.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointFormatException("not a trial checkpoint (no BLCK header).");
        var body = payload.AsSpan(0, payload.Length - DigestLength);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(payload.AsSpan(body.Length)))
            throw new CheckpointFormatException("the checkpoint's SHA-256 digest does not match its contents (corrupt or truncated).");
        using var stream = new MemoryStream(payload, 0, body.Length, writable: false);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            r.ReadBytes(Magic.Length);
            var version = r.ReadUInt16();
            if (version != FormatVersion)
                throw new CheckpointFormatException($"format version {version} is not readable by this build (it reads version {FormatVersion}).");
            var precision = r.ReadByte() switch
            {
                8 => TrialPrecision.Float64,
                4 => TrialPrecision.Float32,
                var p => throw new CheckpointFormatException($"unknown precision tag {p}."),
            };
            var outerStep = NonNegative(r.ReadInt32(), "outer step");
            var threads = r.ReadInt32();
            var fingerprint = r.ReadUInt64();
            var bestLoss = r.ReadDouble();
            var bestStep = r.ReadInt32();
            var n = NonNegative(r.ReadInt32(), "φ length");
            var phi = ReadExactly(r, checked(n * (int)precision), "φ");
            var optimizerSteps = r.ReadInt64();
            var bufferCount = NonNegative(r.ReadInt32(), "optimizer buffer count");
            var buffers = new double[bufferCount][];
            for (var i = 0; i < bufferCount; i++)
                buffers[i] = ReadDoubles(r, "optimizer buffer");
            TwoPhaseState? schedule = null;
            if (r.ReadBoolean())
            {
                var phase = r.ReadByte() switch
                {
                    1 => Phase.One,
                    2 => Phase.Two,
                    var p => throw new CheckpointFormatException($"unknown phase {p}."),
                };
                var hasSwitch = r.ReadBoolean();
                var switchStep = r.ReadInt64();
                schedule = new TwoPhaseState(phase, hasSwitch ? switchStep : null, ReadDoubles(r, "recent losses"));
            }
            var states = new Dictionary<string, KfacState>(StringComparer.Ordinal);
            var stateCount = NonNegative(r.ReadInt32(), "estimator state count");
            for (var i = 0; i < stateCount; i++)
            {
                var role = ReadString(r);
                var kind = ReadString(r);
                var payloadBytes = ReadExactly(r, NonNegative(r.ReadInt32(), "estimator state length"), "estimator state");
                if (kind != "kfac")
                    throw new CheckpointFormatException($"unknown estimator state kind '{kind}' for {role}.");
                states[role] = ParseKfac(payloadBytes);
            }
            if (stream.Position != stream.Length)
                throw new CheckpointFormatException($"{stream.Length - stream.Position} unexpected bytes after the last section.");
            return new TrialCheckpoint
            {
                OuterStep = outerStep,
                Precision = precision,
                Threads = threads,
                Fingerprint = fingerprint,
                BestLoss = bestLoss,
                BestStep = bestStep,
                Phi = phi,
                OptimizerSteps = optimizerSteps,
                OptimizerBuffers = buffers,
                Schedule = schedule,
                KfacStates = states,
            };
        }
        catch (EndOfStreamException)
        {
            throw new CheckpointFormatException("the checkpoint ends inside a section (truncated).");
        }
    }

    private static byte[] KfacPayload(KfacState state)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(state.Step);
            w.Write(state.Updates);
            w.Write(state.Layers.Count);
            foreach (var layer in state.Layers)
            {
                WriteString(w, layer.Layer);
                w.Write(layer.InputSize);
                w.Write(layer.OutputSize);
                WriteDoubles(w, layer.A);
                WriteDoubles(w, layer.G);
            }
        }
        return stream.ToArray();
    }

    private static KfacState ParseKfac(byte[] payload)
    {
        using var stream = new MemoryStream(payload, writable: false);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        var step = r.ReadInt64();
        var updates = r.ReadInt32();
        var count = NonNegative(r.ReadInt32(), "kfac layer count");
        var layers = new KfacLayerFactors[count];
        for (var i = 0; i < count; i++)
            layers[i] = new KfacLayerFactors(ReadString(r), r.ReadInt32(), r.ReadInt32(), ReadDoubles(r, "kfac A"), ReadDoubles(r, "kfac G"));
        if (stream.Position != stream.Length)
            throw new CheckpointFormatException("unexpected bytes after the kfac factors.");
        return new KfacState(step, updates, layers);
    }

    private static void WriteDoubles(BinaryWriter w, double[] values)
    {
        w.Write(values.Length);
        w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static double[] ReadDoubles(BinaryReader r, string what)
    {
        var n = NonNegative(r.ReadInt32(), what);
        return MemoryMarshal.Cast<byte, double>(ReadExactly(r, checked(n * sizeof(double)), what)).ToArray();
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(ReadExactly(r, NonNegative(r.ReadInt32(), "string length"), "string"));

    private static byte[] ReadExactly(BinaryReader r, int count, string what)
    {
        if (count > r.BaseStream.Length - r.BaseStream.Position)
            throw new CheckpointFormatException($"{what} claims {count} bytes; only {r.BaseStream.Length - r.BaseStream.Position} remain (truncated or corrupt).");
        return r.ReadBytes(count);
    }

    private static int NonNegative(int value, string what) =>
        value >= 0 ? value : throw new CheckpointFormatException($"{what} is negative ({value}).");

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Trial checkpoints are written on little-endian machines only.");
    }
}
