"""Cross-check peer of the PDE task pde-burgers (tests/Bilevel.Tasks.Tests/Peer/BurgersPeerCrossCheckTests.cs).

Usage: /usr/bin/python3 tests/peer/task_burgers.py --dir DIR

The task, from its definition: u_t + c u u_x = nu u_xx on the periodic grid x_j = j h, h = 2 pi / N, j < N, by the
method of lines: central differences of order 2 or 4 with the flux written conservatively as c (u^2/2)_x,
    order 2:  du/dt = -c (F+1 - F-1) / (2h) + nu (u+1 - 2u + u-1) / h^2
    order 4:  du/dt = -c (-F+2 + 8F+1 - 8F-1 + F-2) / (12h) + nu (-u+2 + 16u+1 - 30u + 16u-1 - u-2) / (12h^2)
(F = u^2/2, +k the neighbour k points to the right), and classical RK4 in time, taking between consecutive
observation times the fewest equal steps no longer than time_step. u(x, 0) is the Cole-Hopf solution
2 nu* sin x / (a + cos x) for the true viscosity nu* and offset a. phi = [log nu] or [log nu, c], clamped to
[min_viscosity, max_viscosity] and |c| <= max_advection (c = 1 when it is not learned). The outer loss is the
relative misfit sum (u(t_k, x_s) - y_ks)^2 / sum y_ks^2 at the sensors; autograd through the solver gives its
derivative with respect to phi.

Reads from DIR: spec.json {grid_points, order, time_step, observation_times, viscosity, offset, min_viscosity,
max_viscosity, learn_advection, max_advection, sensors}, phi.bin, sensors.bin (int32 grid indices),
observations.bin [times x sensors].
Writes to DIR (float64): trajectory.bin [times x N], misfit.bin (1 value), misfit_grad.bin (d misfit / d phi).
"""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import task_common as tc  # noqa: E402


def right_hand_side(u: torch.Tensor, nu: torch.Tensor, c: torch.Tensor, h: float, order: int) -> torch.Tensor:
    def shift(v, k):  # v at the neighbour k points to the right, periodically
        return torch.roll(v, -k)

    flux = 0.5 * u * u
    if order == 2:
        return (-c * (shift(flux, 1) - shift(flux, -1)) / (2 * h)
                + nu * (shift(u, 1) - 2 * u + shift(u, -1)) / (h * h))
    if order == 4:
        return (-c * (-shift(flux, 2) + 8 * shift(flux, 1) - 8 * shift(flux, -1) + shift(flux, -2)) / (12 * h)
                + nu * (-shift(u, 2) + 16 * shift(u, 1) - 30 * u + 16 * shift(u, -1) - shift(u, -2)) / (12 * h * h))
    raise ValueError(f"order {order} is not 2 or 4")


def solve(u: torch.Tensor, nu, c, h: float, order: int, times, max_step: float):
    """u at every observation time, by RK4 from u at t = 0."""
    def rhs(v):
        return right_hand_side(v, nu, c, h, order)

    snapshots, now = [], 0.0
    for t in times:
        span = t - now
        # A ratio within rounding of a whole number takes that many steps, not one more.
        steps = math.ceil(span / max_step - 1e-9)
        dt = span / steps if steps > 0 else 0.0
        for _ in range(steps):
            k1 = rhs(u)
            k2 = rhs(u + 0.5 * dt * k1)
            k3 = rhs(u + 0.5 * dt * k2)
            k4 = rhs(u + dt * k3)
            u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        snapshots.append(u)
        now = t
    return torch.stack(snapshots)


def main() -> int:
    directory, spec = tc.parse(__doc__.split("\n\n")[0])
    n, times = spec["grid_points"], spec["observation_times"]
    phi = tc.read(directory, "phi.bin", (2 if spec["learn_advection"] else 1,)).requires_grad_(True)
    sensors = tc.read_indices(directory, "sensors.bin", (spec["sensors"],))
    y = tc.read(directory, "observations.bin", (len(times), spec["sensors"]))

    h = 2 * math.pi / n
    x = torch.arange(n, dtype=tc.DTYPE) * h
    u0 = 2 * spec["viscosity"] * torch.sin(x) / (spec["offset"] + torch.cos(x))
    nu = torch.clamp(torch.exp(phi[0]), spec["min_viscosity"], spec["max_viscosity"])
    c = torch.clamp(phi[1], -spec["max_advection"], spec["max_advection"]) if spec["learn_advection"] \
        else torch.tensor(1.0, dtype=tc.DTYPE)
    u = solve(u0, nu, c, h, spec["order"], times, spec["time_step"])
    misfit = ((u[:, sensors] - y) ** 2).sum() / (y * y).sum()
    (grad,) = torch.autograd.grad(misfit, phi)

    tc.write(directory, "trajectory.bin", u.detach())
    tc.write(directory, "misfit.bin", misfit.detach().reshape(1))
    tc.write(directory, "misfit_grad.bin", grad)
    return 0


if __name__ == "__main__":
    sys.exit(main())
