#!/usr/bin/env bash
# The single VM entry point (test.sh calls it): boots the cgroup v2 + systemd VM ONCE and
# runs every tests/vm/*.test.sh inside it (tests/vm/inside.sh), which prints PASS/FAIL per
# script and a final "N passed, M failed".
#   tests/vm/run.sh                      all scripts
#   tests/vm/run.sh systemd cgroup       only tests/vm/systemd*.test.sh, tests/vm/cgroup*.test.sh
# The VM is this repository's own (tests/vm/image.sh builds a Debian bookworm image from the
# host's apt mirror into /var/tmp/stockade-vm, tests/vm/boot.sh boots it). Where the older
# ../shared/vmtest tool sits beside the checkout with its image already built, that is used
# instead (no build); STOCKADE_VM_HARNESS=own or =shared forces one.
# Binaries are built here on the host (the guest has the same glibc) and used from the
# shared directory. Without qemu the suite is skipped, or fails when STOCKADE_TEST_REQUIRE=1
# (CI).
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
  if [ "${STOCKADE_TEST_REQUIRE:-0}" = "1" ]; then
    echo "vm: FAIL: $1 (STOCKADE_TEST_REQUIRE=1)" >&2
    exit 1
  fi
  echo "SKIP: vm tests: $1"
  exit 0
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"

SHARED="${VMTEST_RUN:-../shared/vmtest/run}"
harness="${STOCKADE_VM_HARNESS:-}"
if [ -z "$harness" ]; then
  harness=own
  if [ -x "$SHARED" ] && compgen -G "${VMTEST_CACHE:-/var/tmp/vmtest-cache}/images/debian-bookworm-*/ok" >/dev/null; then
    harness=shared
  fi
fi
if [ "$harness" = own ] && ! compgen -G "${STOCKADE_VM_CACHE:-/var/tmp/stockade-vm}/bookworm-*/done" >/dev/null; then
  [ "$(id -u)" = 0 ] || skip "no VM image yet and building one needs root (run tests/vm/image.sh as root)"
  command -v debootstrap >/dev/null || skip "debootstrap is not installed (./setup.sh --deps)"
fi

cargo build --locked --bins
# Test executables the guest scripts run (there is no cargo in the VM): the cgroup suites'
# paths go to target/vm/cgroup-tests.txt for tests/vm/cgroup-v2.test.sh.
mkdir -p target/vm
: > target/vm/cgroup-tests.txt
suites=()
for f in tests/cgroup_*.rs; do [ -e "$f" ] && suites+=(--test "$(basename "$f" .rs)"); done
if [ "${#suites[@]}" -gt 0 ]; then
  cargo test --locked --no-run --message-format=json "${suites[@]}" |
    grep '"kind":\["test"\]' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | sort -u \
    > target/vm/cgroup-tests.txt
fi

# Generous: the VM runs under TCG emulation (boot ~15-20 s, programs ~50x slower).
timeout="${STOCKADE_VM_TIMEOUT:-1500}"
if [ "$harness" = shared ]; then
  exec "$SHARED" --timeout "$timeout" . -- tests/vm/inside.sh "$@"
fi
exec tests/vm/boot.sh --timeout "$timeout" -- tests/vm/inside.sh "$@"
