"""PyTorch peer models: pure functions of ONE flat parameter vector.

The layouts and semantics here are the contract with the C# side (Bilevel.Nn);
change them only together.

MLP (widths [784, 256, 10] by default; any list of >= 2 widths):
    flat = [W1 (w0 x w1, row-major, used as x @ W1), b1 (w1), W2 (w1 x w2), b2 (w2), ...]
    h = relu(x @ W1 + b1), ..., logits = h @ W_last + b_last  (no relu after the last layer)

ConvNet (width C=128, depth 3, 1 input channel, 28x28, 10 classes by default):
    per block: conv weight [C_out, C_in, 3, 3] (PyTorch layout), conv bias [C_out],
               gamma [C_out], beta [C_out]
      conv 3x3 stride 1 padding 1 -> relu -> instance norm per sample and channel over HxW,
      written explicitly: y = (x - mean) * rsqrt(var + 1e-5) * gamma + beta (biased var)
      -> 2x2 average pool stride 2 (floor: 28 -> 14 -> 7 -> 3)
    then flatten NCHW (C * s * s features, 1152 for C=128) and a linear layer
    W [C*s*s, classes] used as x @ W, b [classes].
    flat = [block0 (w, b, gamma, beta), block1 (...), ..., W, b]

Loss: mean over the batch of logsumexp(z) - <z, onehot(y)>; labels int64.

Everything is written with ops that have both double-backward and forward-AD rules in
torch 1.13 (F.cross_entropy / F.instance_norm do not: nll_loss_backward and
native_batch_norm_backward lack forward-AD formulas), so functorch.jvp(functorch.grad(f))
works as well as double backward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

import torch
import torch.nn.functional as F

IN_EPS = 1e-5

Shape = Tuple[int, ...]


@dataclass(frozen=True)
class Mlp:
    widths: Tuple[int, ...] = (784, 256, 10)

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(w <= 0 for w in self.widths):
            raise ValueError(f"MLP widths must be >= 2 positive sizes, got {list(self.widths)}")

    @property
    def num_classes(self) -> int:
        return self.widths[-1]

    @property
    def input_shape(self) -> Shape:
        """Shape of one sample (without the batch dimension)."""
        return (self.widths[0],)

    def shapes(self) -> List[Tuple[str, Shape]]:
        out: List[Tuple[str, Shape]] = []
        for i, (a, b) in enumerate(zip(self.widths[:-1], self.widths[1:])):
            out.append((f"W{i + 1}", (a, b)))
            out.append((f"b{i + 1}", (b,)))
        return out

    def forward(self, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ps = unflatten(flat, self.shapes())
        h = x.reshape(x.shape[0], -1)
        n_layers = len(self.widths) - 1
        for i in range(n_layers):
            w, b = ps[2 * i], ps[2 * i + 1]
            h = h @ w + b
            if i < n_layers - 1:
                h = torch.relu(h)
        return h

    def init(self, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        parts = []
        for name, shape in self.shapes():
            if name.startswith("W"):
                fan_in = shape[0]
                parts.append(_kaiming_uniform(shape, fan_in, generator, dtype))
            else:
                parts.append(torch.zeros(shape, dtype=dtype))
        return torch.cat([p.reshape(-1) for p in parts])


@dataclass(frozen=True)
class ConvNet:
    width: int = 128
    depth: int = 3
    in_channels: int = 1
    image_size: int = 28
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.width <= 0 or self.depth <= 0 or self.in_channels <= 0 or self.num_classes <= 0:
            raise ValueError(f"ConvNet sizes must be positive: {self}")
        if self.final_size() <= 0:
            raise ValueError(
                f"ConvNet: image size {self.image_size} pooled {self.depth} times leaves nothing")

    @property
    def input_shape(self) -> Shape:
        return (self.in_channels, self.image_size, self.image_size)

    def final_size(self) -> int:
        s = self.image_size
        for _ in range(self.depth):
            s //= 2
        return s

    def features(self) -> int:
        s = self.final_size()
        return self.width * s * s

    def shapes(self) -> List[Tuple[str, Shape]]:
        out: List[Tuple[str, Shape]] = []
        c_in = self.in_channels
        for i in range(self.depth):
            c = self.width
            out += [
                (f"conv{i}.w", (c, c_in, 3, 3)),
                (f"conv{i}.b", (c,)),
                (f"norm{i}.gamma", (c,)),
                (f"norm{i}.beta", (c,)),
            ]
            c_in = c
        out += [("fc.W", (self.features(), self.num_classes)), ("fc.b", (self.num_classes,))]
        return out

    def forward(self, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ps = unflatten(flat, self.shapes())
        h = x.reshape(x.shape[0], *self.input_shape)
        for i in range(self.depth):
            w, b, gamma, beta = ps[4 * i: 4 * i + 4]
            h = F.conv2d(h, w, b, stride=1, padding=1)
            h = torch.relu(h)
            h = instance_norm(h, gamma, beta)
            h = F.avg_pool2d(h, kernel_size=2, stride=2)
        h = h.reshape(h.shape[0], -1)  # NCHW order
        return h @ ps[-2] + ps[-1]

    def init(self, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        parts = []
        for name, shape in self.shapes():
            if name.endswith(".w"):
                fan_in = shape[1] * shape[2] * shape[3]
                parts.append(_kaiming_uniform(shape, fan_in, generator, dtype))
            elif name == "fc.W":
                parts.append(_kaiming_uniform(shape, shape[0], generator, dtype))
            elif name.endswith(".gamma"):
                parts.append(torch.ones(shape, dtype=dtype))
            else:  # conv bias, beta, fc bias
                parts.append(torch.zeros(shape, dtype=dtype))
        return torch.cat([p.reshape(-1) for p in parts])


def instance_norm(h: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Per sample and channel over HxW, biased variance, eps 1e-5, affine gamma/beta."""
    mean = h.mean(dim=(2, 3), keepdim=True)
    centered = h - mean
    var = (centered * centered).mean(dim=(2, 3), keepdim=True)
    y = centered * torch.rsqrt(var + IN_EPS)
    return y * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of logsumexp(z) - <z, onehot(y)>."""
    onehot = F.one_hot(labels.long(), logits.shape[1]).to(logits.dtype)
    return (torch.logsumexp(logits, dim=1) - (logits * onehot).sum(dim=1)).mean()


def weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                           weights: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of w_i * (logsumexp(z_i) - <z_i, onehot(y_i)>), the C# side's
    Ops.CrossEntropy(logits, labels, sampleWeights); forward-AD and double-backward safe."""
    onehot = F.one_hot(labels.long(), logits.shape[1]).to(logits.dtype)
    return (weights * (torch.logsumexp(logits, dim=1) - (logits * onehot).sum(dim=1))).mean()


def num_params(model) -> int:
    return sum(math.prod(s) for _, s in model.shapes())


def unflatten(flat: torch.Tensor, shapes: Sequence[Tuple[str, Shape]]) -> List[torch.Tensor]:
    total = sum(math.prod(s) for _, s in shapes)
    if flat.dim() != 1 or flat.numel() != total:
        raise ValueError(f"flat parameter vector has {tuple(flat.shape)} elements, expected ({total},)")
    out, off = [], 0
    for _, s in shapes:
        n = math.prod(s)
        out.append(flat[off: off + n].view(s))
        off += n
    return out


def loss_fn(model, x: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """Returns f(flat) -> scalar mean cross-entropy on the fixed batch (x, y)."""
    return lambda flat: cross_entropy(model.forward(flat, x), y)


def make_model(name: str, width: int | None = None, depth: int | None = None,
               widths: Sequence[int] | None = None):
    if name == "mlp":
        if widths is not None:
            return Mlp(tuple(widths))
        return Mlp((784, width if width is not None else 256, 10))
    if name == "convnet":
        return ConvNet(width=width if width is not None else 128,
                       depth=depth if depth is not None else 3)
    raise ValueError(f"unknown model {name!r}: expected 'mlp' or 'convnet'")


def _kaiming_uniform(shape: Shape, fan_in: int, generator: torch.Generator,
                     dtype: torch.dtype) -> torch.Tensor:
    """U(-b, b) with b = sqrt(6 / fan_in) (He/Kaiming uniform for relu)."""
    bound = math.sqrt(6.0 / fan_in)
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    return ((2.0 * u - 1.0) * bound).to(dtype)
