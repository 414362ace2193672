#!/usr/bin/env bash
# run-cgroup-v2.sh: run the cgroup test suites under cgroup v2 + systemd in the vmtest VM.
#
# Builds the test binaries on the host (the guest has the same glibc), boots the VM ONCE
# with ../shared/vmtest/run (shared/ sits beside the repository) and runs
# tests/vm/cgroup-v2-guest.sh there, which runs every suite
#   1. as root in vmtest-run.service (Delegate=yes),
#   2. as root in a transient service with Delegate=yes (the leaf goes inside the unit),
#   3. as the unprivileged user `tester` with a delegated cgroup.
# Exit status: non-zero when any suite fails or the VM cannot run.
#
# Usage: tests/vm/run-cgroup-v2.sh [--test NAME]...   (default: every tests/cgroup_*.rs)
# Environment: VMTEST_RUN (path of vmtest's run script), VMTEST_TIMEOUT (seconds).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
vmtest=${VMTEST_RUN:-$repo/../shared/vmtest/run}
if [[ ! -x $vmtest ]]; then
    echo "run-cgroup-v2: $vmtest not found or not executable (shared/ must sit beside the repository, or set VMTEST_RUN)" >&2
    exit 1
fi

tests=()
while (( $# )); do
    case $1 in
        --test) tests+=("$2"); shift 2 ;;
        *) echo "run-cgroup-v2: unknown argument $1" >&2; exit 2 ;;
    esac
done
if (( ${#tests[@]} == 0 )); then
    for f in tests/cgroup_*.rs; do tests+=("$(basename "$f" .rs)"); done
fi
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done

# The JSON messages name each test executable by absolute path (the stockade binary the
# tests drive is built too, but only test targets are run).
json=$(cargo test --locked --no-run --message-format=json "${args[@]}")
mapfile -t bins < <(grep '"kind":\["test"\]' <<<"$json" | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | sort -u)
if (( ${#bins[@]} == 0 )); then
    echo "run-cgroup-v2: cargo built no test executable" >&2
    exit 1
fi
for b in "${bins[@]}"; do
    # Only the repository is shared into the VM.
    if [[ $b != "$repo"/* ]]; then
        echo "run-cgroup-v2: $b is outside $repo (CARGO_TARGET_DIR?); the VM cannot see it" >&2
        exit 1
    fi
done

echo "run-cgroup-v2: booting the VM for: ${bins[*]##*/}" >&2
exec "$vmtest" --timeout "${VMTEST_TIMEOUT:-2400}" "$repo" -- tests/vm/cgroup-v2-guest.sh "${bins[@]}"
