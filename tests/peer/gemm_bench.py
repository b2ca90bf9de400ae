"""GEMM peer benchmark: PyTorch's torch.matmul on float32, timed the same way as GemmBenchmark.cs.

Usage:
  /usr/bin/python3 tests/peer/gemm_bench.py --threads N [--reps R] [--warmup W] MxNxK [MxNxK ...]

Each shape is C[M x N] = A[M x K] @ B[K x N]. Prints one JSON line per shape:
  {"shape": "MxNxK", "m": M, "n": N, "k": K, "threads": N, "reps": R, "median_s": seconds}
where median_s is the median wall time of R calls after W warm-up calls. Exits with status 2 and a
message on stderr when a shape is malformed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch


def parse_shape(text: str) -> tuple[int, int, int]:
    parts = text.split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        print(f"gemm_bench: shape '{text}' is not MxNxK with positive integers", file=sys.stderr)
        sys.exit(2)
    m, n, k = (int(p) for p in parts)
    return m, n, k


def median_seconds(m: int, n: int, k: int, reps: int, warmup: int) -> float:
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(m, k, generator=generator, dtype=torch.float32) - 0.5
    b = torch.rand(k, n, generator=generator, dtype=torch.float32) - 0.5
    for _ in range(warmup):
        torch.matmul(a, b)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("shapes", nargs="+")
    args = parser.parse_args()

    # Explicit, so torch neither defaults to every core nor inherits OMP_NUM_THREADS.
    torch.set_num_threads(args.threads)
    for text in args.shapes:
        m, n, k = parse_shape(text)
        seconds = median_seconds(m, n, k, args.reps, args.warmup)
        record = {"shape": text, "m": m, "n": n, "k": k, "threads": args.threads, "reps": args.reps, "median_s": seconds}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
