#!/usr/bin/env bash
# The single VM entry point (test.sh calls it): boots the cgroup v2 + systemd VM from
# ../shared/vmtest ONCE and runs every tests/vm/*.test.sh inside it (tests/vm/inside.sh),
# which prints PASS/FAIL per script and a final "N passed, M failed".
#   tests/vm/run.sh                      all scripts
#   tests/vm/run.sh systemd cgroup       only tests/vm/systemd*.test.sh, tests/vm/cgroup*.test.sh
# Binaries are built here on the host (the guest has the same glibc) and used from the
# shared directory. Without the VM tooling the suite is skipped, or fails when
# STOCKADE_TEST_REQUIRE=1 (CI).
set -euo pipefail
cd "$(dirname "$0")/../.."

VMTEST="${VMTEST_RUN:-../shared/vmtest/run}"
skip() {
  if [ "${STOCKADE_TEST_REQUIRE:-0}" = "1" ]; then
    echo "vm: FAIL: $1 (STOCKADE_TEST_REQUIRE=1)" >&2
    exit 1
  fi
  echo "SKIP: vm tests: $1"
  exit 0
}
[ -x "$VMTEST" ] || skip "$VMTEST not found (the vmtest tool lives beside the repository)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"

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
exec "$VMTEST" --timeout "${STOCKADE_VM_TIMEOUT:-1500}" . -- tests/vm/inside.sh "$@"
