#!/usr/bin/env bash
# Runs every test: unit, integration (real sandboxes, as root and as an unprivileged user),
# the OCI differential tests, and the cgroup v2 + systemd suite in a VM (../shared/vmtest).
# Set STOCKADE_TEST_REQUIRE=1 to turn every "SKIP:" into a failure (CI does).
set -euo pipefail
cd "$(dirname "$0")"

cargo build --locked --all-targets
cargo test --locked --no-fail-fast -- --test-threads=2
if [ -x tests/vm/run.sh ]; then
  tests/vm/run.sh
fi
if [ -x bench/run.sh ]; then
  bench/run.sh --smoke
fi
