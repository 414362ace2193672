#!/usr/bin/env bash
# The stockade benchmark: launch latency, peak RSS, throughput, concurrency and scaling,
# interleaved with the kernel floor, unshare, bubblewrap, crun and runc; then the cost on
# real work (bench/work.py). See bench/README.md.
#
#   bench/run.sh              full run (a few minutes): installs missing peers (bubblewrap,
#                             crun, runc, hyperfine) from Debian packages, builds stockade in
#                             release mode, writes target/bench/results.md
#   bench/run.sh --smoke      seconds: checks the benchmark still executes (called by
#                             test.sh). Judges no timing; skips missing peers; uses
#                             target/debug/stockade when it exists. Exit 1 only when a
#                             launcher could not run at all.
#   bench/run.sh --rounds N   interleaved rounds of the latency run (default 150)
#
# STOCKADE_BIN=/path/to/stockade overrides the binary under test.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
extra=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1; extra+=(--smoke) ;;
    *) extra+=("$arg") ;;
  esac
done

if [ "$smoke" = 0 ]; then
  missing=()
  for pair in bwrap:bubblewrap crun:crun runc:runc hyperfine:hyperfine unshare:util-linux \
              python3:python3 cc:gcc perf:linux-perf strace:strace; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "bench: installing ${missing[*]}" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # perf is optional (profiling only); the rest is required.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           "${missing[@]/linux-perf/}" >/dev/null
  fi
  if [ -n "${STOCKADE_BIN:-}" ]; then bin="$STOCKADE_BIN"
  else bin="$(./build-release.sh)/stockade"   # the static build setup.sh installs
  fi
else
  for tool in python3 cc; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
  done
  if [ -n "${STOCKADE_BIN:-}" ]; then bin="$STOCKADE_BIN"
  elif [ -x target/debug/stockade ]; then bin="$PWD/target/debug/stockade"
  elif [ -x target/release/stockade ]; then bin="$PWD/target/release/stockade"
  else cargo build --locked --bin stockade >&2; bin="$PWD/target/debug/stockade"
  fi
fi

out=target/bench
[ "$smoke" = 1 ] && out=target/bench/smoke
mkdir -p "$out"
cc -O2 -Wall -Wextra -o target/bench/launch bench/launch.c
timer=""
if [ "$smoke" = 0 ]; then
  cargo build --release --locked --example bench_compile >&2
  timer="$PWD/target/release/examples/bench_compile"
fi
python3 bench/bench.py --stockade "$bin" --helper "$PWD/target/bench/launch" \
  --compile-timer "$timer" \
  --out "$PWD/$out" "${extra[@]}"
# Real work (bench/work.py): syscalls, find /usr, make -j2, cargo build; bare vs each layer
# vs bubblewrap. --smoke: one round of small versions.
work_args=()
[ "$smoke" = 1 ] && work_args+=(--smoke)
exec python3 bench/work.py --stockade "$bin" --out "$PWD/$out" "${work_args[@]}"
