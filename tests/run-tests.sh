#!/usr/bin/env bash
# The test command of README.md: installs prerequisites, builds in Release and runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-prerequisites.sh
dotnet build OrleansBilevel.sln -c Release -warnaserror -v quiet -nologo
log=$(mktemp)
set +e
dotnet test OrleansBilevel.sln -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line over all test projects.
awk '/^(Passed!|Failed!) +- +Failed: /{gsub(",","");f+=$4;p+=$6;s+=$8} END{printf "tests: %d passed, %d failed, %d skipped\n",p,f,s}' "$log"
rm -f "$log"
exit "$status"
