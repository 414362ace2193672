#!/usr/bin/env bash
# Runs every test: unit, integration (real sandboxes, as root and as an unprivileged user),
# the OCI differential tests under crun and runc, 100k fuzz cases, the cgroup v2 and systemd
# suites in a VM (tests/vm), the Debian package installed and removed, and a smoke run of
# the benchmark.
# Set STOCKADE_TEST_REQUIRE=1 to turn every "SKIP:" into a failure (CI does).
set -euo pipefail
cd "$(dirname "$0")"

cargo build --locked --all-targets
cargo test --locked --no-fail-fast -- --test-threads=2

# The full fuzz run: optimized (LTO off, so it builds quickly) for 100k cases.
STOCKADE_FUZZ_CASES=100000 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo test --locked --release --test fuzz
STOCKADE_FUZZ_CASES=1000000 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo test --locked --release --test net_fuzz

# cgroup v2 and systemd: one VM boot runs every tests/vm/*.test.sh.
tests/vm/run.sh
# The static release build README's setup.sh installs: it must build, be static, and run a
# sandbox; the benchmark smoke run then uses it.
release="$(./build-release.sh)"
"$release/stockade" run bench/profiles/equivalent.toml -- /bin/true
# The Debian package of that build: dpkg -i, a sandbox from the installed files, dpkg -r.
deb="$(packaging/build-deb.sh "$release")"
if [ "$(id -u)" = 0 ]; then
  packaging/test-deb.sh "$deb"
elif [ "${STOCKADE_TEST_REQUIRE:-0}" = 1 ]; then
  echo "test.sh: FAIL: the package test needs root (STOCKADE_TEST_REQUIRE=1)" >&2; exit 1
else
  echo "SKIP: package test: needs root"
fi
STOCKADE_BIN="$release/stockade" bench/run.sh --smoke
