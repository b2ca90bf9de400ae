using System.Numerics;
using Bilevel.Nn.Optimizers;
using Bilevel.Tensors;

namespace Bilevel.Hypergradients;

/// <summary>The inner map s_t = Φ_t(s_{t−1}, φ) and runs of it, each step in its own tensor scope.</summary>
public static class InnerDynamics
{
    /// <summary>∇_θ g(θ, φ) at inner step t. When θ or φ carry tangents the result carries H·tangent.</summary>
    public static Tensor<T> InnerGradient<T>(IBilevelProblem<T> problem, Tensor<T> theta, Tensor<T> phi, long outerStep, int step)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Autodiff.Grad(a => problem.InnerLoss(a[0], phi, outerStep, step), theta)[0];

    public static InnerState<T> Step<T>(IBilevelProblem<T> problem, InnerState<T> state, Tensor<T> phi, long outerStep, int step)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gradient = InnerGradient(problem, state.Theta, phi, outerStep, step);
        return problem.Optimizer.Step(state, gradient, problem.StepSize(phi, step), step);
    }

    /// <summary>The start state s₀ of outer step k.</summary>
    public static InnerState<T> Start<T>(IBilevelProblem<T> problem, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
        => problem.Optimizer.Start(problem.InitialTheta(outerStep));

    /// <summary>The state s_T after all T inner steps of outer step k from s₀; tangents of φ are propagated.</summary>
    public static InnerState<T> Final<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
        => Run(problem, Start(problem, outerStep), phi, outerStep, 1, problem.UnrollSteps);

    /// <summary>
    /// Runs steps first..last from <paramref name="state"/>, which it disposes as it goes (it owns it). Only the
    /// current state is alive between steps, so memory does not grow with the number of steps; tangents carried by
    /// the state and φ are propagated (forward unrolling). <paramref name="visit"/> sees each state before its step.
    /// </summary>
    public static InnerState<T> Run<T>(IBilevelProblem<T> problem, InnerState<T> state, Tensor<T> phi, long outerStep, int first, int last,
        Action<int, InnerState<T>>? visit = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int t = first; t <= last; t++)
        {
            visit?.Invoke(t, state);
            using var scope = TensorScope.Begin();
            var next = Step(problem, state, phi, outerStep, t).KeptBy(scope);
            state.Dispose();
            state = next;
        }
        return state;
    }

    /// <summary>
    /// h(φ) = f(θ_T(φ), φ) by a full forward run, with f summed over the problem's
    /// <see cref="IBilevelProblem{T}.OuterParts"/>, each evaluated in a scope of its own: a forward pass with tangents
    /// then holds one part's activations, of sizes an inner step has already lent, rather than the whole outer batch's
    /// (the condensation ConvNet on 256 real images with 4 tangents: 1.27 GiB, in buffers no inner step could reuse).
    /// </summary>
    public static Tensor<T> OuterObjective<T>(IBilevelProblem<T> problem, Tensor<T> phi, long outerStep) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int parts = OuterGradient.PartsOf(problem);
        var final = Final(problem, phi, outerStep);
        Tensor<T>? total = null;
        for (int part = 0; part < parts; part++)
        {
            using var scope = TensorScope.Begin();
            var value = problem.OuterLossPart(final.Theta, phi, outerStep, part);
            var previous = total;
            total = scope.Keep(previous is null ? value : Ops.Add(previous, value));
            previous?.Dispose();
        }
        return total!;
    }
}
