"""PyTorch peer of the estimator benchmark (tests/Bilevel.Benchmarks/Estimators/): a worker that
times one hypergradient estimator call at a time on the task the C# side wrote to --dir, so that the C#
side can interleave its own calls with these (load bursts on a noisy machine hit both alike).

Usage:
  /usr/bin/python3 tests/peer/hypergrad_bench.py --task hypercleaning|condensation --dir DIR --threads N
      [task sizes, see --help] [--trgu-k 10] [--fg2u-b 8] [--fg2u-mode vmap|loop]
      [--neumann-k 10] [--neumann-alpha 0.05] [--cg-k 10] [--cg-damping 0.01] [--kfac-damping 0.01]

Then reads commands from stdin, one per line, and answers each with ONE JSON line on stdout:
  time EST          one timed call -> {"s", "cpu_s", "loss"} (wall and process CPU seconds)
  grad EST PATH     one call, its hypergradient written to PATH (float32) -> {"s", "cpu_s", "loss"}
  reference EST PATH
                    one call in float64 on the same inputs (cast from float32), its hypergradient written
                    to PATH (float64) -> {"s", "cpu_s", "loss"}: the reference that the C# side measures
                    both sides' float32 hypergradients against. Unrolled ConvNet training is sensitive to
                    float32 rounding (a pre-activation within rounding of 0 takes the other side of its
                    ReLU, and the trajectories part), so two float32 results can differ by far more than
                    either differs from float64.
  mem EST           peak RSS growth of one call over the memory resident just before it, with glibc
                    returning large blocks on free so that resident memory follows live memory
                    (VmHWM after /proc/self/clear_refs, as bench_models.py) -> {"mib", "method", "s", "cpu_s"}
  quit
EST is rgu, trgu, fg2u, neumann, cg or kfac. Between commands glibc keeps freed memory for reuse
(bench_models.py's --malloc cached), which is how torch is timed; the C# side decides warm-up and
repetitions. Errors are answered as {"error": ...} (with the traceback on stderr).

Set OMP_WAIT_POLICY=PASSIVE on a loaded machine (the C# side does): with the default spinning
policy, two OpenMP threads that lose their cores to other processes made this workload up to 20x
slower in wall time here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import bench_models  # noqa: E402  (PeakRss, set_malloc)
import hypergrad_common as hc  # noqa: E402
import models  # noqa: E402
import task_condensation  # noqa: E402

ESTIMATORS = ("rgu", "trgu", "fg2u", "neumann", "cg", "kfac")


def read_condensation(directory: str, dtype: torch.dtype, width: int, depth: int, ipc: int, real_batch: int,
                      steps: int, lr: float) -> Tuple[task_condensation.Condensation, torch.Tensor]:
    """Files: theta0.bin, phi.bin (synthetic images, [10 * ipc * 784]), x_real.bin [real_batch, 784] (the outer
    step's real batch), y_real.bin (int32)."""
    model = models.ConvNet(width=width, depth=depth)
    theta0 = hc.read_tensor(directory, "theta0.bin", dtype, (models.num_params(model),))
    x_real = hc.read_tensor(directory, "x_real.bin", dtype, (real_batch, *model.input_shape))
    y_real = hc.read_labels(directory, "y_real.bin", (real_batch,))
    problem = task_condensation.Condensation(model, theta0, ipc, x_real, y_real, steps, lr)
    return problem, hc.read_tensor(directory, "phi.bin", dtype, (problem.phi_size,))


def build(args):
    dtype = torch.float32
    if args.task == "hypercleaning":
        return hc.read_hypercleaning(args.dir, dtype, args.hidden, args.train, args.val, args.steps, args.batch,
                                     args.lr, args.wd)
    return read_condensation(args.dir, dtype, args.width, args.depth, args.ipc, args.real_batch, args.steps, args.lr)


def in_float64(problem: hc.Problem, phi: torch.Tensor) -> Tuple[hc.Problem, torch.Tensor]:
    """A copy of the problem with its floating-point tensors (theta_0, data, fixed labels) cast to float64."""
    result = type(problem).__new__(type(problem))
    result.__dict__.update({k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v
                            for k, v in vars(problem).items()})
    return result, phi.double()


def make_calls(args, problem, phi):
    gen = torch.Generator().manual_seed(17)
    directions = (torch.randint(0, 2, (args.fg2u_b, phi.numel()), generator=gen) * 2 - 1).to(phi.dtype)
    return {
        "rgu": lambda: hc.rgu(problem, phi),
        "trgu": lambda: hc.rgu(problem, phi, args.trgu_k),
        "fg2u": lambda: hc.fg2u(problem, phi, directions, args.fg2u_mode),
        "neumann": lambda: hc.neumann(problem, phi, args.neumann_k, args.neumann_alpha),
        "cg": lambda: hc.cg(problem, phi, args.cg_k, args.cg_damping)[:2],
        "kfac": lambda: hc.kfac(problem, phi, args.kfac_damping),
    }


def timed(fn):
    c0 = time.process_time()
    t0 = time.perf_counter()
    loss, gradient = fn()
    return time.perf_counter() - t0, time.process_time() - c0, loss, gradient


def serve(calls, reference_calls) -> None:
    """reference_calls() makes the float64 calls, on first use: the float32 calls are measured without them."""
    rss = bench_models.PeakRss()
    references = None
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        try:
            command, name = parts[0], parts[1]
            if name not in calls:
                raise ValueError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")
            fn = calls[name]
            if command == "time":
                s, cpu, loss, _ = timed(fn)
                out = {"s": s, "cpu_s": cpu, "loss": loss}
            elif command == "grad":
                s, cpu, loss, gradient = timed(fn)
                gradient.detach().numpy().astype("<f4").tofile(parts[2])
                out = {"s": s, "cpu_s": cpu, "loss": loss}
            elif command == "reference":
                references = references or reference_calls()
                s, cpu, loss, gradient = timed(references[name])
                gradient.detach().numpy().astype("<f8").tofile(parts[2])
                out = {"s": s, "cpu_s": cpu, "loss": loss}
            elif command == "mem":
                bench_models.set_malloc(cache=False)
                try:
                    rss.start()
                    s, cpu, _, _ = timed(fn)
                    out = {"mib": rss.stop_mib(), "method": rss.method, "s": s, "cpu_s": cpu}
                finally:
                    bench_models.set_malloc(cache=True)
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as e:  # reported to the C# side, which prints it in its table
            traceback.print_exc(file=sys.stderr)
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", required=True, choices=["hypercleaning", "condensation"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True, help="T, inner steps unrolled")
    ap.add_argument("--lr", type=float, required=True, help="inner SGD learning rate")
    # hypercleaning
    ap.add_argument("--hidden", type=int, nargs="*", default=[256])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--val", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.0)
    # condensation
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--ipc", type=int, default=10)
    ap.add_argument("--real-batch", type=int, default=256)
    # estimators
    ap.add_argument("--trgu-k", type=int, default=10)
    ap.add_argument("--fg2u-b", type=int, default=8)
    ap.add_argument("--fg2u-mode", choices=["vmap", "loop"], default="vmap")
    ap.add_argument("--neumann-k", type=int, default=10)
    ap.add_argument("--neumann-alpha", type=float, default=0.05)
    ap.add_argument("--cg-k", type=int, default=10)
    ap.add_argument("--cg-damping", type=float, default=0.01)
    ap.add_argument("--kfac-damping", type=float, default=0.01)
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    if not bench_models.set_malloc(cache=True):
        print("hypergrad_bench.py: mallopt unavailable; timing with glibc defaults", file=sys.stderr)
    try:
        problem, phi = build(args)
    except ValueError as e:
        print(json.dumps({"error": str(e)}), flush=True)
        return 2
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "fg2u_mode": args.fg2u_mode, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
                      "blas_core": bench_models.blas_core()}),
          flush=True)
    serve(make_calls(args, problem, phi), lambda: make_calls(args, *in_float64(problem, phi)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
