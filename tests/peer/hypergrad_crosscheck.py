"""Cross-check peer: RGU hypergradient and forward-mode directional derivatives of logistic-regression
data hypercleaning, on inputs the C# test wrote (tests/Bilevel.Tasks.Tests/Peer).

Usage:
  /usr/bin/python3 tests/peer/hypergrad_crosscheck.py --dir DIR --train N --val M --steps T --batch B
      --lr LR --wd WD --directions D [--dtype float64|float32] [--threads 1]

Reads from DIR (raw little-endian, no header; see hypergrad_common.read_hypercleaning):
  theta0.bin phi.bin x_train.bin y_train.bin x_val.bin y_val.bin batches.bin, and
  directions.bin  D x N directions v_i (dtype)
Writes to DIR (dtype):
  outer_loss.bin  1 value: h(phi) = f(theta_T(phi))
  hypergrad.bin   N values: RGU, by create_graph unrolling and autograd.grad
  dirderiv.bin    D values: d_i = grad h . v_i by functorch.jvp of the unrolled objective (one jvp per
                  direction: the reference does not depend on vmap's batching rules)
Exits with status 2 and a message on stderr when the input is malformed.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import hypergrad_common as hc  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--train", type=int, required=True)
    ap.add_argument("--val", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--wd", type=float, required=True)
    ap.add_argument("--directions", type=int, required=True)
    ap.add_argument("--dtype", choices=list(DTYPES), default="float64")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    dtype = DTYPES[args.dtype]
    try:
        if min(args.train, args.val, args.steps, args.batch, args.directions) < 1:
            raise ValueError("--train, --val, --steps, --batch and --directions must be >= 1")
        problem, phi = hc.read_hypercleaning(args.dir, dtype, [], args.train, args.val, args.steps, args.batch,
                                             args.lr, args.wd)
        directions = hc.read_tensor(args.dir, "directions.bin", dtype, (args.directions, args.train))
        if int(problem.batches.min()) < 0 or int(problem.batches.max()) >= args.train:
            raise ValueError(f"batches.bin holds indices outside [0, {args.train})")
    except ValueError as e:
        print(f"hypergrad_crosscheck.py: error: {e}", file=sys.stderr)
        return 2

    loss, hypergradient = hc.rgu(problem, phi)
    value, d = hc.directional_derivatives(problem, phi, directions, mode="loop")
    if abs(value - loss) > 1e-6 * abs(loss):
        print(f"hypergrad_crosscheck.py: error: h(phi) by jvp {value} differs from the unrolled loss {loss}",
              file=sys.stderr)
        return 1
    hc.write_tensor(args.dir, "outer_loss.bin", torch.tensor([loss], dtype=dtype))
    hc.write_tensor(args.dir, "hypergrad.bin", hypergradient)
    hc.write_tensor(args.dir, "dirderiv.bin", d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
