"""PyTorch peer of the bilevel problems and hypergradient estimators (tests/peer/hypergrad_*.py).

The problems mirror the C# tasks on identical inputs that the C# side writes as raw little-endian
files (see read_hypercleaning, and hypergrad_bench.read_condensation): theta_0, phi, the data, and for
hypercleaning the minibatch of every inner step. Inner dynamics: plain SGD, theta_t = theta_{t-1} - lr * grad g(theta_{t-1}, phi; xi_t), t = 1..T;
outer objective h(phi) = f(theta_T(phi), phi). Weight decay is written into g as (wd/2)|theta|^2, as
the C# task does, so that the implicit estimators see the same Hessian.

  hypercleaning  g = mean_{i in xi_t} sigmoid(phi_i) * CE(model(theta, x_i), noisy y_i) + (wd/2)|theta|^2,
                 f = mean CE on the validation set (does not depend on phi)
  condensation   task_condensation.Condensation (the task's definition, shared with its cross-check):
                 phi = synthetic images [IPC * classes, 1, 28, 28] with fixed labels i // IPC,
                 g = mean CE of the ConvNet on them (every step the same), f = mean CE on a real batch

Estimators, each written the natural PyTorch way:
  rgu / trgu  unrolled loop with create_graph=True, then one autograd.grad (TRGU: only the last K
              steps are recorded, the earlier ones run without a graph)
  fg2u        functorch.jvp of the unrolled objective (inner gradients by functorch.grad), vmapped
              over the b directions (or looped when --fg2u-mode loop)
  neumann, cg Hessian-vector products by double backward at theta_T: the inner gradient's graph is
              built once (create_graph) and reused with retain_graph for every product
  kfac        factors A = E[a a^T] (inputs, im2col patches by F.unfold for convolutions, bias
              column of ones) and G = E[delta delta^T] (exact Fisher: one backward pass per class to
              the layers' outputs with cotangents sqrt(w p_c)(p - e_c)), pi-damping, Cholesky in
              float64 (torch.linalg.cholesky / cholesky_solve); parameters outside every Kronecker
              block (instance-norm gamma, beta) get u / (|u^T H u / u^T u| + lambda)
"""

from __future__ import annotations

import math
import os
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import functorch

import models

NP_DTYPES = {torch.float32: np.dtype("<f4"), torch.float64: np.dtype("<f8")}


# ----------------------------------------------------------------------------- raw files

def read_raw(path: str, np_dtype) -> np.ndarray:
    np_dtype = np.dtype(np_dtype)
    if not os.path.isfile(path):
        raise ValueError(f"missing input file {path}")
    size = os.path.getsize(path)
    if size % np_dtype.itemsize != 0:
        raise ValueError(f"{path}: {size} bytes is not a whole number of {np_dtype.itemsize}-byte values")
    return np.fromfile(path, dtype=np_dtype).astype(np_dtype.newbyteorder("="))


def read_tensor(directory: str, name: str, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
    a = read_raw(os.path.join(directory, name), NP_DTYPES[dtype])
    expected = math.prod(shape)
    if a.size != expected:
        raise ValueError(f"{name} has {a.size} values, expected {expected} for shape {tuple(shape)}")
    return torch.from_numpy(a).reshape(*shape)


def read_labels(directory: str, name: str, shape: Sequence[int]) -> torch.Tensor:
    a = read_raw(os.path.join(directory, name), "<i4")
    expected = math.prod(shape)
    if a.size != expected:
        raise ValueError(f"{name} has {a.size} labels, expected {expected} for shape {tuple(shape)}")
    return torch.from_numpy(a.astype(np.int64)).reshape(*shape)


def write_tensor(directory: str, name: str, t: torch.Tensor) -> None:
    t = t.detach().cpu()
    t.numpy().astype(NP_DTYPES[t.dtype], copy=False).reshape(-1).tofile(os.path.join(directory, name))


# ----------------------------------------------------------------------------- problems

class Problem:
    """An unrolled bilevel problem: theta_0, T plain-SGD steps on inner_loss, outer_loss at theta_T."""

    model = None
    theta0: torch.Tensor
    steps: int
    lr: float
    l2: float = 0.0  # rho of a (rho/2)|theta|^2 term inside inner_loss (KFAC adds it to its damping)

    def inner_loss(self, theta: torch.Tensor, phi: torch.Tensor, t: int) -> torch.Tensor:
        """g on the minibatch of inner step t (0-based here; the C# side counts from 1)."""
        raise NotImplementedError

    def outer_loss(self, theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def kfac_batch(self, phi: torch.Tensor, t: int) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Inputs of the minibatch of inner step t and its per-sample loss weights (None: 1)."""
        raise NotImplementedError

    def update(self, theta: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return theta - self.lr * g


class Hypercleaning(Problem):
    def __init__(self, model, theta0, x_train, y_train, x_val, y_val, batches, lr, wd):
        self.model, self.theta0 = model, theta0
        self.x_train, self.y_train, self.x_val, self.y_val = x_train, y_train, x_val, y_val
        self.batches = batches  # [T, B] int64
        self.steps, self.lr, self.l2 = batches.shape[0], lr, wd

    def inner_loss(self, theta, phi, t):
        idx = self.batches[t]
        w = torch.sigmoid(phi)[idx]
        loss = models.weighted_cross_entropy(self.model.forward(theta, self.x_train[idx]), self.y_train[idx], w)
        return loss + (0.5 * self.l2) * (theta * theta).sum() if self.l2 > 0 else loss

    def outer_loss(self, theta, phi):
        return models.cross_entropy(self.model.forward(theta, self.x_val), self.y_val)

    def kfac_batch(self, phi, t):
        idx = self.batches[t]
        return self.x_train[idx], torch.sigmoid(phi.detach())[idx]


def read_hypercleaning(directory: str, dtype: torch.dtype, hidden: Sequence[int], n_train: int, n_val: int,
                       steps: int, batch: int, lr: float, wd: float) -> Tuple[Hypercleaning, torch.Tensor]:
    """Files: theta0.bin, phi.bin (dtype), x_train.bin [n_train, 784], y_train.bin (int32, noisy),
    x_val.bin [n_val, 784], y_val.bin, batches.bin (int32 [T, batch], 0-based example indices)."""
    model = models.Mlp((784, *hidden, 10))
    theta0 = read_tensor(directory, "theta0.bin", dtype, (models.num_params(model),))
    phi = read_tensor(directory, "phi.bin", dtype, (n_train,))
    x_train = read_tensor(directory, "x_train.bin", dtype, (n_train, 784))
    y_train = read_labels(directory, "y_train.bin", (n_train,))
    x_val = read_tensor(directory, "x_val.bin", dtype, (n_val, 784))
    y_val = read_labels(directory, "y_val.bin", (n_val,))
    batches = read_labels(directory, "batches.bin", (steps, batch))
    return Hypercleaning(model, theta0, x_train, y_train, x_val, y_val, batches, lr, wd), phi


# ----------------------------------------------------------------------------- unrolling

def run_plain(problem: Problem, phi: torch.Tensor, first: int, last: int, theta: torch.Tensor) -> torch.Tensor:
    """Steps first..last-1 (0-based) without a graph: what a forward pass of training does."""
    phi = phi.detach()
    for t in range(first, last):
        th = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(problem.inner_loss(th, phi, t), th)
        with torch.no_grad():
            theta = problem.update(th, g)
    return theta.detach()


def rgu(problem: Problem, phi: torch.Tensor, truncation: Optional[int] = None) -> Tuple[float, torch.Tensor]:
    """Reverse unrolling through the last `truncation` steps (all of them when None)."""
    T = problem.steps
    first = 0 if truncation is None else max(0, T - truncation)
    theta = run_plain(problem, phi, 0, first, problem.theta0)
    phi = phi.detach().requires_grad_(True)
    theta = theta.requires_grad_(True)
    for t in range(first, T):
        (g,) = torch.autograd.grad(problem.inner_loss(theta, phi, t), theta, create_graph=True)
        theta = problem.update(theta, g)
    loss = problem.outer_loss(theta, phi)
    (hg,) = torch.autograd.grad(loss, phi)
    return float(loss), hg


def objective(problem: Problem, phi: torch.Tensor) -> torch.Tensor:
    """h(phi) written for functorch transforms: inner gradients by functorch.grad."""
    grad_inner = functorch.grad(problem.inner_loss, argnums=0)
    theta = problem.theta0
    for t in range(problem.steps):
        theta = problem.update(theta, grad_inner(theta, phi, t))
    return problem.outer_loss(theta, phi)


def directional_derivatives(problem: Problem, phi: torch.Tensor, directions: torch.Tensor,
                            mode: str = "vmap") -> Tuple[float, torch.Tensor]:
    """d_i = grad h(phi) . v_i for the rows v_i of `directions` by forward-over-reverse (functorch.jvp)."""
    phi = phi.detach()
    h = lambda p: objective(problem, p)  # noqa: E731
    if mode == "vmap":
        values, d = functorch.vmap(lambda v: functorch.jvp(h, (phi,), (v,)))(directions)
        return float(values[0]), d
    if mode != "loop":
        raise ValueError(f"fg2u mode must be vmap or loop, got {mode!r}")
    out, value = [], None
    for v in directions:
        value, d = functorch.jvp(h, (phi,), (v,))
        out.append(d)
    return float(value), torch.stack(out)


def fg2u(problem: Problem, phi: torch.Tensor, directions: torch.Tensor, mode: str = "vmap") -> Tuple[float, torch.Tensor]:
    value, d = directional_derivatives(problem, phi, directions, mode)
    return value, (d.unsqueeze(1) * directions).mean(0)


# ----------------------------------------------------------------------------- implicit estimators

class Implicit:
    """theta_T by a plain forward run, df/dtheta, df/dphi, and the inner gradient's graph at theta_T
    (last step's minibatch) for Hessian-vector products by double backward."""

    def __init__(self, problem: Problem, phi: torch.Tensor):
        self.problem = problem
        theta = run_plain(problem, phi, 0, problem.steps, problem.theta0)
        self.theta = theta.requires_grad_(True)
        self.phi = phi.detach().requires_grad_(True)
        loss = problem.outer_loss(self.theta, self.phi)
        ft, fp = torch.autograd.grad(loss, [self.theta, self.phi], allow_unused=True)
        self.loss = float(loss)
        self.f_theta = ft
        self.f_phi = fp if fp is not None else torch.zeros_like(self.phi)
        (self.g,) = torch.autograd.grad(problem.inner_loss(self.theta, self.phi, problem.steps - 1), self.theta,
                                        create_graph=True)
        self.hvps = 0

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        self.hvps += 1
        (hv,) = torch.autograd.grad(self.g, self.theta, grad_outputs=v, retain_graph=True)
        return hv

    def hypergradient(self, q: torch.Tensor) -> torch.Tensor:
        (mixed,) = torch.autograd.grad(self.g, self.phi, grad_outputs=q, retain_graph=True)
        return self.f_phi - mixed


def neumann(problem: Problem, phi: torch.Tensor, terms: int, alpha: float) -> Tuple[float, torch.Tensor]:
    s = Implicit(problem, phi)
    term = s.f_theta
    total = term
    for _ in range(terms):
        term = term - alpha * s.hvp(term)
        total = total + term
    return s.loss, s.hypergradient(alpha * total).detach()


def cg(problem: Problem, phi: torch.Tensor, iterations: int, damping: float) -> Tuple[float, torch.Tensor, float]:
    """CG on (H + damping I) q = df/dtheta, stopping where p^T A p <= 0 like the C# side, and the true
    relative residual of the final q (one more product, as the C# estimator reports it)."""
    s = Implicit(problem, phi)
    apply = lambda v: s.hvp(v) + damping * v  # noqa: E731
    b = s.f_theta
    q = torch.zeros_like(b)
    r, p = b, b
    rr = float(r @ r)
    for _ in range(iterations):
        if rr <= 0:
            break
        ap = apply(p)
        pap = float(p @ ap)
        if not pap > 0:
            break
        step = rr / pap
        q = q + step * p
        r = r - step * ap
        nxt = float(r @ r)
        p = r + (nxt / rr) * p
        rr = nxt
    res = apply(q) - b
    residual = math.sqrt(float(res @ res) / max(float(b @ b), 1e-300))
    return s.loss, s.hypergradient(q).detach(), residual


# ----------------------------------------------------------------------------- KFAC

def _layers(model):
    """(kind, weight slice, bias slice, weight shape) of every Kronecker layer in the flat layout."""
    out, off = [], 0
    for name, shape in model.shapes():
        n = math.prod(shape)
        out.append((name, shape, off, n))
        off += n
    return out


def kfac_forward(model, theta: torch.Tensor, x: torch.Tensor):
    """The model's forward pass returning logits, each Kronecker layer's input (im2col patches with a
    ones column, [rows, d_in + 1]) and its output (pre-activation) tensor, and each layer's
    (weight offset, weight shape, bias offset) in the flat layout."""
    ps = models.unflatten(theta, model.shapes())
    shapes = _layers(model)
    inputs, outputs, blocks = [], [], []
    if isinstance(model, models.Mlp):
        h = x.reshape(x.shape[0], -1)
        n_layers = len(model.widths) - 1
        for i in range(n_layers):
            w, b = ps[2 * i], ps[2 * i + 1]
            inputs.append(torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype)], 1))
            h = h @ w + b
            outputs.append(h)
            blocks.append(("linear", shapes[2 * i], shapes[2 * i + 1]))
            if i < n_layers - 1:
                h = torch.relu(h)
        return h, inputs, outputs, blocks
    h = x.reshape(x.shape[0], *model.input_shape)
    for i in range(model.depth):
        w, b, gamma, beta = ps[4 * i: 4 * i + 4]
        patches = F.unfold(h, kernel_size=3, padding=1)  # [N, C_in * 9, L]
        patches = patches.transpose(1, 2).reshape(-1, patches.shape[1])
        inputs.append(torch.cat([patches, torch.ones(patches.shape[0], 1, dtype=h.dtype)], 1))
        h = F.conv2d(h, w, b, stride=1, padding=1)
        outputs.append(h)
        blocks.append(("conv", shapes[4 * i], shapes[4 * i + 1]))
        h = torch.relu(h)
        h = models.instance_norm(h, gamma, beta)
        h = F.avg_pool2d(h, kernel_size=2, stride=2)
    h = h.reshape(h.shape[0], -1)
    inputs.append(torch.cat([h, torch.ones(h.shape[0], 1, dtype=h.dtype)], 1))
    logits = h @ ps[-2] + ps[-1]
    outputs.append(logits)
    blocks.append(("linear", shapes[-2], shapes[-1]))
    return logits, inputs, outputs, blocks


def kfac(problem: Problem, phi: torch.Tensor, damping: float) -> Tuple[float, torch.Tensor]:
    s = Implicit(problem, phi)
    model = problem.model
    x, weights = problem.kfac_batch(phi, problem.steps - 1)
    theta = s.theta.detach().requires_grad_(True)  # so that the layer outputs are in a graph
    logits, inputs, outputs, blocks = kfac_forward(model, theta, x)
    n, k = logits.shape
    with torch.no_grad():
        p = torch.softmax(logits.detach(), dim=1)
        w = torch.ones(n, dtype=p.dtype) if weights is None else weights.to(p.dtype)
        A = [(a.T @ a) / a.shape[0] for a in inputs]
    G = [None] * len(outputs)
    eye = torch.eye(k, dtype=p.dtype)
    for c in range(k):
        cot = torch.sqrt(w * p[:, c]).unsqueeze(1) * (p - eye[c])
        deltas = torch.autograd.grad(logits, outputs, grad_outputs=cot, retain_graph=c < k - 1)
        with torch.no_grad():
            for l, d in enumerate(deltas):
                d2 = d.transpose(1, -1).reshape(-1, d.shape[1]) if d.dim() == 4 else d
                m = d2.T @ d2
                G[l] = m if G[l] is None else G[l] + m
    with torch.no_grad():
        ft = s.f_theta.detach()
        q = torch.zeros_like(ft)
        covered = torch.zeros(ft.shape[0], dtype=torch.bool)
        root = math.sqrt(damping + problem.l2)
        for l, (kind, (wname, wshape, woff, wn), (bname, bshape, boff, bn)) in enumerate(blocks):
            a = A[l].double()
            g = (G[l] / n).double()
            pi = math.sqrt(float(torch.trace(a)) / a.shape[0] / (float(torch.trace(g)) / g.shape[0]))
            if not math.isfinite(pi) or pi <= 0:
                pi = 1.0
            la = torch.linalg.cholesky(a + pi * root * torch.eye(a.shape[0], dtype=a.dtype))
            lg = torch.linalg.cholesky(g + root / pi * torch.eye(g.shape[0], dtype=g.dtype))
            wg = ft[woff: woff + wn].view(wshape)
            wmat = wg.reshape(wshape[0], -1) if kind == "conv" else wg.T  # [d_out, d_in]
            v = torch.cat([wmat, ft[boff: boff + bn].unsqueeze(1)], 1).double()
            v = torch.cholesky_solve(v, lg)                       # (G + dG I)^-1 V
            v = torch.cholesky_solve(v.T.contiguous(), la).T      # ... (A + dA I)^-1
            v = v.to(ft.dtype)
            wq = v[:, :-1]
            q[woff: woff + wn] = (wq.reshape(wshape) if kind == "conv" else wq.T.reshape(wshape)).reshape(-1)
            q[boff: boff + bn] = v[:, -1]
            covered[woff: woff + wn] = True
            covered[boff: boff + bn] = True
        u = torch.where(covered, torch.zeros_like(ft), ft)
        uu = float(u @ u)
    if uu > 0:
        hu = s.hvp(u)
        with torch.no_grad():
            scale = 1.0 / (abs(float(u @ hu) / uu) + damping)
            q = torch.where(covered, q, scale * u)
    return s.loss, s.hypergradient(q).detach()
