#!/usr/bin/env bash
# The engine benchmark: ours vs PyTorch 1.13 CPU in one run, on the same number of threads (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-prerequisites.sh
dotnet run -c Release --project tests/Bilevel.Benchmarks -- "$@"
