"""Cross-check peer: loss, gradient and exact Hessian-vector product on identical inputs.

Usage:
  /usr/bin/python3 tests/peer/crosscheck.py --model mlp|convnet --dtype float32|float64 --dir DIR
                                            [--threads N] [--width C] [--depth D]

Reads from DIR (raw little-endian, no header):
  params.bin  flat parameters (dtype), layout as in models.py
  x.bin       inputs (dtype): N x 784 for mlp, N x 1 x 28 x 28 for convnet
  y.bin       int32 labels, N (N is inferred from this file's size)
  v.bin       flat direction (dtype), same length as params.bin
Writes to DIR, in the same dtype:
  loss.bin    1 value: mean cross-entropy
  grad.bin    d loss / d params
  hvp.bin     H v, by double backward (exact, computed in the given dtype)

--width is the MLP hidden width (default 256) or the ConvNet channel count (default 128);
--depth is the ConvNet block count (default 3). Exits with status 2 and a message on
stderr when the input is malformed.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import models  # noqa: E402

DTYPES = {"float32": (np.dtype("<f4"), torch.float32), "float64": (np.dtype("<f8"), torch.float64)}


class InputError(Exception):
    pass


def read_raw(path: str, np_dtype: np.dtype) -> np.ndarray:
    if not os.path.isfile(path):
        raise InputError(f"missing input file {path}")
    size = os.path.getsize(path)
    if size % np_dtype.itemsize != 0:
        raise InputError(
            f"{path}: size {size} bytes is not a multiple of {np_dtype.itemsize} ({np_dtype.name})")
    return np.fromfile(path, dtype=np_dtype)


def write_raw(path: str, t: torch.Tensor, np_dtype: np.dtype) -> None:
    t.detach().cpu().numpy().astype(np_dtype, copy=False).reshape(-1).tofile(path)


def hvp_double_backward(f, p: torch.Tensor, v: torch.Tensor):
    p = p.detach().requires_grad_(True)
    loss = f(p)
    (g,) = torch.autograd.grad(loss, p, create_graph=True)
    (hv,) = torch.autograd.grad(g, p, grad_outputs=v)
    return loss.detach(), g.detach(), hv.detach()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["mlp", "convnet"])
    ap.add_argument("--dtype", required=True, choices=list(DTYPES))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--depth", type=int, default=None)
    args = ap.parse_args(argv)

    torch.set_num_threads(max(1, args.threads))
    np_dtype, t_dtype = DTYPES[args.dtype]
    try:
        if args.depth is not None and args.model != "convnet":
            raise InputError("--depth applies to --model convnet only")
        model = models.make_model(args.model, width=args.width, depth=args.depth)
        d = args.dir
        if not os.path.isdir(d):
            raise InputError(f"--dir {d} is not a directory")
        params = read_raw(os.path.join(d, "params.bin"), np_dtype)
        x = read_raw(os.path.join(d, "x.bin"), np_dtype)
        y = read_raw(os.path.join(d, "y.bin"), np.dtype("<i4"))
        v = read_raw(os.path.join(d, "v.bin"), np_dtype)

        n_params = models.num_params(model)
        if params.size != n_params:
            raise InputError(
                f"params.bin has {params.size} {args.dtype} values, but {args.model} "
                f"({model}) has {n_params} parameters: check --width/--depth and --dtype")
        if v.size != n_params:
            raise InputError(f"v.bin has {v.size} values, expected {n_params} (same as params.bin)")
        n = y.size
        if n == 0:
            raise InputError("y.bin is empty: need at least one sample")
        per_sample = int(np.prod(model.input_shape))
        if x.size != n * per_sample:
            raise InputError(
                f"x.bin has {x.size} values, expected N x {'x'.join(map(str, model.input_shape))} "
                f"= {n} x {per_sample} = {n * per_sample} (N = {n} from y.bin): check --dtype")
        if y.min() < 0 or y.max() >= model.num_classes:
            raise InputError(
                f"y.bin labels must lie in [0, {model.num_classes}); got min {y.min()}, max {y.max()}")
        if not (np.isfinite(params).all() and np.isfinite(x).all() and np.isfinite(v).all()):
            raise InputError("params.bin, x.bin or v.bin contains NaN or infinity")
    except (InputError, ValueError) as e:
        print(f"crosscheck.py: error: {e}", file=sys.stderr)
        return 2

    p_t = torch.from_numpy(params.astype(np_dtype.newbyteorder("="))).to(t_dtype)
    x_t = torch.from_numpy(x.astype(np_dtype.newbyteorder("="))).to(t_dtype)
    x_t = x_t.reshape(n, *model.input_shape)
    y_t = torch.from_numpy(y.astype(np.int64))
    v_t = torch.from_numpy(v.astype(np_dtype.newbyteorder("="))).to(t_dtype)

    f = models.loss_fn(model, x_t, y_t)
    loss, grad, hv = hvp_double_backward(f, p_t, v_t)

    write_raw(os.path.join(d, "loss.bin"), loss.reshape(1), np_dtype)
    write_raw(os.path.join(d, "grad.bin"), grad, np_dtype)
    write_raw(os.path.join(d, "hvp.bin"), hv, np_dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
