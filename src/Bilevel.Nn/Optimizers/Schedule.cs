namespace Bilevel.Nn.Optimizers;

/// <summary>The factor by which the base learning rate is multiplied at inner step t of T (1-based).</summary>
public abstract record Schedule
{
    public abstract double Factor(int step, int steps);

    public static Schedule Constant { get; } = new ConstantSchedule();
}

public sealed record ConstantSchedule : Schedule
{
    public override double Factor(int step, int steps) => 1;
}

/// <summary>Cosine decay from 1 at t = 1 to <see cref="Floor"/> at t = T.</summary>
public sealed record CosineSchedule(double Floor = 0) : Schedule
{
    public override double Factor(int step, int steps)
        => steps <= 1 ? 1 : Floor + (1 - Floor) * 0.5 * (1 + Math.Cos(Math.PI * (step - 1) / (steps - 1)));
}

/// <summary>Linear decay from 1 at t = 1 to <see cref="Floor"/> at t = T.</summary>
public sealed record LinearSchedule(double Floor = 0) : Schedule
{
    public override double Factor(int step, int steps)
        => steps <= 1 ? 1 : 1 - (1 - Floor) * (step - 1) / (steps - 1);
}
