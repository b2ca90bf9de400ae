"""Shared part of the task cross-check peers (tests/peer/task_*.py, driven by tests/Bilevel.Tasks.Tests/Peer).

The C# test writes a task's inputs to a folder: spec.json (the task's scalars, snake_case keys) and raw
little-endian arrays (float64 values, int32 indices). A peer script rebuilds the task in PyTorch from its
definition, in float64, and writes its results back as raw float64 arrays.

For the unrolled tasks (condensation, hpo), unroll_and_write runs the inner optimizer from theta_0 for T steps
with create_graph, as the definition reads (design.md section 3):
    G_t = grad_theta g_t(theta_{t-1}, phi)
    sgd:       theta_t = theta_{t-1} - eta_t G_t
    momentum:  m_t = mu m_{t-1} + G_t, theta_t = theta_{t-1} - eta_t m_t, m_0 = 0
and h(phi) = f(theta_T, phi); autograd through the whole unrolled graph gives RGU's hypergradient. It writes
  inner_losses.bin    T values g_t(theta_{t-1}, phi), t = 1..T
  inner_grads.bin     T x M values G_t
  theta_T.bin         M values
  outer_loss.bin      1 value f(theta_T, phi)
  outer_grad_theta.bin, outer_grad_phi.bin   the partial derivatives of f at (theta_T, phi) (0 where f does not
                      depend on phi)
  hypergrad.bin       N values dh/dphi
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, List, Sequence, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hypergrad_common as hc  # noqa: E402

DTYPE = torch.float64


def parse(description: str) -> Tuple[str, dict]:
    """--dir DIR from the command line, and DIR/spec.json."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(args.dir, "spec.json"), encoding="utf-8") as f:
        return args.dir, json.load(f)


def read(directory: str, name: str, shape: Sequence[int]) -> torch.Tensor:
    return hc.read_tensor(directory, name, DTYPE, shape)


def read_indices(directory: str, name: str, shape: Sequence[int]) -> torch.Tensor:
    return hc.read_labels(directory, name, shape)


def write(directory: str, name: str, t: torch.Tensor) -> None:
    hc.write_tensor(directory, name, t.to(DTYPE))


class Sgd:
    def start(self, theta: torch.Tensor) -> List[torch.Tensor]:
        return []

    def step(self, theta, slots, g, lr):
        return theta - lr * g, []


class Momentum:
    def __init__(self, mu: float):
        self.mu = mu

    def start(self, theta: torch.Tensor) -> List[torch.Tensor]:
        return [torch.zeros_like(theta)]

    def step(self, theta, slots, g, lr):
        m = self.mu * slots[0] + g
        return theta - lr * m, [m]


def optimizer(spec: dict):
    """The inner optimizer spec["optimizer"] names ("sgd" or "momentum" with spec["momentum"])."""
    kind = spec["optimizer"]
    if kind == "sgd":
        return Sgd()
    if kind == "momentum":
        return Momentum(spec["momentum"])
    raise ValueError(f"optimizer {kind!r} is not sgd or momentum")


def unroll_and_write(directory: str, theta0: torch.Tensor, phi: torch.Tensor, steps: int, opt,
                     inner_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
                     outer_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     learning_rate: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """inner_loss(theta, phi, t) and learning_rate(phi, t) for inner step t = 1..steps; outer_loss(theta, phi)."""
    phi = phi.detach().requires_grad_(True)
    theta = theta0.detach().requires_grad_(True)
    slots = opt.start(theta)
    losses, grads = [], []
    for t in range(1, steps + 1):
        g_t = inner_loss(theta, phi, t)
        (grad,) = torch.autograd.grad(g_t, theta, create_graph=True)
        losses.append(g_t.detach())
        grads.append(grad.detach())
        theta, slots = opt.step(theta, slots, grad, learning_rate(phi, t))
    f = outer_loss(theta, phi)
    (hypergrad,) = torch.autograd.grad(f, phi)

    theta_T = theta.detach().requires_grad_(True)
    phi_at = phi.detach().requires_grad_(True)
    df_dtheta, df_dphi = torch.autograd.grad(outer_loss(theta_T, phi_at), [theta_T, phi_at], allow_unused=True)
    write(directory, "inner_losses.bin", torch.stack(losses))
    write(directory, "inner_grads.bin", torch.cat(grads))
    write(directory, "theta_T.bin", theta_T)
    write(directory, "outer_loss.bin", f.detach().reshape(1))
    write(directory, "outer_grad_theta.bin", df_dtheta)
    write(directory, "outer_grad_phi.bin", torch.zeros_like(phi_at) if df_dphi is None else df_dphi)
    write(directory, "hypergrad.bin", hypergrad)

