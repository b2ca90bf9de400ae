"""Cross-check peer of the hyperparameter-optimisation task (tests/Bilevel.Tasks.Tests/Peer/HpoPeerCrossCheckTests.cs).

Usage: /usr/bin/python3 tests/peer/task_hpo.py --dir DIR

The task, from its definition: an MLP (models.Mlp, widths [784, hidden..., classes]) trained for T steps on
    g_t(theta, phi) = mean CE(theta; minibatch t) + 1/2 sum_j lambda_j theta_j^2,
phi = [decay | log eta_1 .. log eta_T] (either part may be absent). lambda = softplus(decay) or exp(decay),
broadcast over theta from one value ("global"), one value per layer (a layer's weight matrix and its bias:
"per-layer") or one value per parameter ("per-parameter"); with "none", lambda = spec["initial_decay"] for every
parameter (no term when it is 0). Inner step t uses eta_t = exp(log eta_t) when the schedule is learned,
spec["learning_rate"] otherwise. The outer loss is the mean CE on the whole validation set.

Reads from DIR: spec.json {widths, steps, batch, learning_rate, optimizer, momentum, weight_decay,
decay_transform, initial_decay, learn_schedule, train_count, validation_count}, theta0.bin, phi.bin,
x_train.bin [train_count, 784], y_train.bin, x_val.bin, y_val.bin, batches.bin (int32 [T, batch]).
Writes what task_common.unroll_and_write writes.
"""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import models  # noqa: E402
import task_common as tc  # noqa: E402


def decay_size(granularity: str, model: models.Mlp) -> int:
    sizes = {"none": 0, "global": 1, "per-layer": len(model.widths) - 1, "per-parameter": models.num_params(model)}
    if granularity not in sizes:
        raise ValueError(f"weight_decay {granularity!r} is not one of {sorted(sizes)}")
    return sizes[granularity]


def decay_per_parameter(spec: dict, model: models.Mlp, raw: torch.Tensor) -> torch.Tensor:
    """lambda for every parameter in the flat layout [W1, b1, W2, b2, ...] from the decay part of phi."""
    lam = F.softplus(raw) if spec["decay_transform"] == "softplus" else torch.exp(raw)
    if spec["weight_decay"] != "per-layer":
        return lam  # one value per parameter, or a single one that broadcasts
    sizes = [math.prod(shape) for _, shape in model.shapes()]
    layer_sizes = torch.tensor([w + b for w, b in zip(sizes[0::2], sizes[1::2])])
    return torch.repeat_interleave(lam, layer_sizes)


def main() -> int:
    directory, spec = tc.parse(__doc__.split("\n\n")[0])
    model = models.Mlp(tuple(spec["widths"]))
    steps, n_train, n_val = spec["steps"], spec["train_count"], spec["validation_count"]
    decays = decay_size(spec["weight_decay"], model)
    phi_size = decays + (steps if spec["learn_schedule"] else 0)

    theta0 = tc.read(directory, "theta0.bin", (models.num_params(model),))
    phi = tc.read(directory, "phi.bin", (phi_size,))
    x_train = tc.read(directory, "x_train.bin", (n_train, model.widths[0]))
    y_train = tc.read_indices(directory, "y_train.bin", (n_train,))
    x_val = tc.read(directory, "x_val.bin", (n_val, model.widths[0]))
    y_val = tc.read_indices(directory, "y_val.bin", (n_val,))
    batches = tc.read_indices(directory, "batches.bin", (steps, spec["batch"]))

    def inner_loss(theta, p, t):
        idx = batches[t - 1]
        loss = models.cross_entropy(model.forward(theta, x_train[idx]), y_train[idx])
        if decays > 0:
            lam = decay_per_parameter(spec, model, p[:decays])
        elif spec["initial_decay"] > 0:
            lam = spec["initial_decay"]
        else:
            return loss
        return loss + 0.5 * (lam * theta * theta).sum()

    def outer_loss(theta, p):
        return models.cross_entropy(model.forward(theta, x_val), y_val)

    def learning_rate(p, t):
        return torch.exp(p[decays + t - 1]) if spec["learn_schedule"] else spec["learning_rate"]

    tc.unroll_and_write(directory, theta0, phi, steps, tc.optimizer(spec), inner_loss, outer_loss, learning_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
