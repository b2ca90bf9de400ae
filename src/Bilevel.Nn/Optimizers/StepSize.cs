using System.Numerics;
using Bilevel.Tensors;

namespace Bilevel.Nn.Optimizers;

/// <summary>
/// The hyperparameters of one inner step as tensors, so that they may be functions of the outer variables φ
/// (a learned learning rate, per-parameter weight decay) and carry derivatives.
/// </summary>
/// <param name="LearningRate">η_t: a scalar or a per-parameter tensor, schedule already applied.</param>
/// <param name="WeightDecay">λ: null (none), a scalar or a per-parameter tensor; adds λ·θ to the gradient.</param>
public sealed record StepSize<T>(Tensor<T> LearningRate, Tensor<T>? WeightDecay = null) where T : unmanaged, IFloatingPointIeee754<T>;
