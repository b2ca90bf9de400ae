"""PyTorch peer benchmark: forward+backward and Hessian-vector products on the peer models.

Usage:
  /usr/bin/python3 tests/peer/bench_models.py --model mlp|convnet --threads N [--batch 100]
      [--reps 10] [--warmup 2] [--width C] [--depth D] [--dtype float32|float64] [--seed 0]
      [--malloc cached|system]

Times, each as the median of --reps runs after --warmup untimed runs (the three interleaved):
  fwd_bwd_s              loss and gradient w.r.t. the flat parameters (autograd)
  hvp_jvp_grad_s         H v by forward-over-reverse: functorch.jvp(functorch.grad(f))
  hvp_double_backward_s  H v by reverse-over-reverse (autograd.grad with create_graph)
  hvp_best_s             min of the two HVP times
and, measured first, the peak resident-memory growth of one call of each over the memory
resident just before it (Linux: VmHWM after resetting it through /proc/self/clear_refs, after
malloc_trim, with glibc mmap'ing blocks >= 128 KiB and unmapping them on free so that resident
memory follows live memory; else getrusage, which only sees growth beyond the earlier peak).

--malloc cached (default) then times torch with glibc keeping freed memory for reuse, as a
caching allocator would: with plain glibc much of a ConvNet HVP goes to page faults zeroing
freshly mmap'ed temporaries. --malloc system times it with the memory-measurement setting
(glibc's default, its dynamic mmap threshold pinned at 128 KiB).

Prints ONE JSON line on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import functorch  # noqa: E402

import models  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class PeakRss:
    """Peak RSS growth of a code region, in MiB."""

    def __init__(self) -> None:
        self.method = "getrusage"
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._status_kb("VmHWM")
            self.method = "proc_vmhwm"
        except OSError:
            pass
        try:
            self._libc = ctypes.CDLL("libc.so.6")
        except OSError:
            self._libc = None
        self._base_kb = 0

    @staticmethod
    def _status_kb(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise OSError(f"{key} not in /proc/self/status")

    def start(self) -> None:
        gc.collect()
        if self._libc is not None:
            self._libc.malloc_trim(0)
        if self.method == "proc_vmhwm":
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._base_kb = self._status_kb("VmRSS")
        else:
            self._base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def stop_mib(self) -> float:
        if self.method == "proc_vmhwm":
            peak = self._status_kb("VmHWM")
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return max(0, peak - self._base_kb) / 1024.0


def blas_core() -> str:
    """The kernel family of the OpenBLAS torch loaded (openblas_get_corename), or "" when there is none: the C#
    side passes its OPENBLAS_CORETYPE so both sides multiply with the same kernels, and reports this to show it."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libopenblas" in line}
    for path in sorted(paths):
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return ""


def set_malloc(cache: bool) -> bool:
    """glibc tuning through mallopt; True if it took.

    cache=True: serve every allocation from the heap and keep freed memory, so that torch's
    large temporaries are reused instead of mmap'ed, page-faulted and zeroed anew on every
    call (what the caching allocators torch deployments preload achieve).
    cache=False: large blocks (>= 128 KiB) are mmap'ed and unmapped on free, so resident
    memory follows live memory; used while measuring peak RSS.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold, m_mmap_max = -1, -2, -3, -4
    if cache:
        settings = [(m_mmap_max, 0), (m_trim_threshold, 2**31 - 1), (m_top_pad, 64 << 20)]
    else:
        settings = [(m_mmap_max, 65536), (m_mmap_threshold, 128 << 10),
                    (m_trim_threshold, 128 << 10), (m_top_pad, 0)]
    return all([bool(libc.mallopt(k, v)) for k, v in settings])


def peak_rss_growth(phases, rss: PeakRss):
    """One warm-up call of each phase, then one measured call of each, with glibc unmapping
    large blocks on free so that resident memory follows live memory."""
    set_malloc(cache=False)
    for fn in phases:
        fn()
    mib = []
    for fn in phases:
        rss.start()
        fn()
        mib.append(rss.stop_mib())
    return mib


def median_times(phases, reps: int, warmup: int):
    """Medians of reps, the phases interleaved round-robin so that load bursts on a noisy
    machine hit all of them alike."""
    for _ in range(warmup):
        for fn in phases:
            fn()
    times = [[] for _ in phases]
    for _ in range(reps):
        for i, fn in enumerate(phases):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["mlp", "convnet"])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--width", type=int, default=None,
                    help="MLP hidden width (default 256) or ConvNet channels (default 128)")
    ap.add_argument("--depth", type=int, default=None, help="ConvNet blocks (default 3)")
    ap.add_argument("--dtype", choices=list(DTYPES), default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--malloc", choices=["cached", "system"], default="cached",
                    help="cached (default): glibc keeps freed memory for reuse; "
                         "system: glibc defaults, mmap threshold pinned at 128 KiB")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.batch < 1 or args.reps < 1 or args.warmup < 0:
        ap.error("--threads, --batch and --reps must be >= 1 and --warmup >= 0")
    if args.depth is not None and args.model != "convnet":
        ap.error("--depth applies to --model convnet only")

    torch.set_num_threads(args.threads)
    dtype = DTYPES[args.dtype]
    model = models.make_model(args.model, width=args.width, depth=args.depth)
    gen = torch.Generator().manual_seed(args.seed)
    p = model.init(gen, dtype)
    v = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dtype)
    x = torch.rand((args.batch, *model.input_shape), generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randint(0, model.num_classes, (args.batch,), generator=gen)
    f = models.loss_fn(model, x, y)

    def fwd_bwd():
        q = p.detach().requires_grad_(True)
        loss = f(q)
        (g,) = torch.autograd.grad(loss, q)
        return loss, g

    grad_f = functorch.grad(f)

    def hvp_jvp_grad():
        _, hv = functorch.jvp(grad_f, (p,), (v,))
        return hv

    def hvp_double_backward():
        q = p.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(q), q, create_graph=True)
        (hv,) = torch.autograd.grad(g, q, grad_outputs=v)
        return hv

    phases = [fwd_bwd, hvp_jvp_grad, hvp_double_backward]
    rss = PeakRss()
    fb_mib, jg_mib, db_mib = peak_rss_growth(phases, rss)

    malloc = "system"
    if args.malloc == "cached":
        malloc = "cached" if set_malloc(cache=True) else "system (mallopt unavailable)"

    # Cheap sanity check that both HVPs compute the same thing before timing them.
    a, b = hvp_jvp_grad(), hvp_double_backward()
    tol = 1e-3 if dtype == torch.float32 else 1e-9
    err = float((a - b).norm() / b.norm().clamp_min(1e-30))
    if not err <= tol:
        print(f"bench_models.py: error: jvp(grad) and double-backward HVPs differ (rel {err:.2e})",
              file=sys.stderr)
        return 1

    fb_s, jg_s, db_s = median_times(phases, args.reps, args.warmup)

    out = {
        "model": args.model,
        "threads": args.threads,
        "fwd_bwd_s": fb_s,
        "hvp_jvp_grad_s": jg_s,
        "hvp_double_backward_s": db_s,
        "hvp_best_s": min(jg_s, db_s),
        "dtype": args.dtype,
        "batch": args.batch,
        "reps": args.reps,
        "width": model.widths[1] if args.model == "mlp" else model.width,
        "depth": model.depth if args.model == "convnet" else len(model.widths) - 2,
        "params": models.num_params(model),
        "peak_rss_growth_mib": {"fwd_bwd": fb_mib, "hvp_jvp_grad": jg_mib,
                                "hvp_double_backward": db_mib},
        "rss_method": rss.method,
        "malloc": malloc,
        "torch": torch.__version__,
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
