#!/usr/bin/env bash
# Runs inside the VM (as root, under systemd, in the shared repository): installs the
# host-built binaries and the profiles, then runs each tests/vm/*.test.sh in its own
# bash, with its output prefixed, and reports PASS/FAIL per script and
# "N passed, M failed" at the end. Exit status: 0 only when every script passed.
# Arguments select scripts by name prefix (`systemd` runs systemd*.test.sh).
# A script runs from the repository root and gets: REPO (the repository), STOCKADE and
# TESTD (installed in /usr/local/bin, with stockade-probe when built), the profiles in
# /etc/stockade/ and tests/vm/profiles/ in /etc/stockade/test/; tests/vm/lib.sh has helpers.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"

install -m 0755 target/debug/stockade /usr/local/bin/stockade
install -m 0755 target/debug/stockade-testd /usr/local/bin/stockade-testd
[ -x target/debug/stockade-probe ] && install -m 0755 target/debug/stockade-probe /usr/local/bin/stockade-probe
rm -rf /etc/stockade && mkdir -p /etc/stockade
cp -r profiles/. /etc/stockade/
mkdir -p /etc/stockade/test && cp -r tests/vm/profiles/. /etc/stockade/test/ 2>/dev/null || true
export REPO STOCKADE=/usr/local/bin/stockade TESTD=/usr/local/bin/stockade-testd

scripts=()
for s in tests/vm/*.test.sh; do
  [ -e "$s" ] || continue
  name=$(basename "$s" .test.sh)
  if [ "$#" -gt 0 ]; then
    keep=0
    for want in "$@"; do case "$name" in "$want"*) keep=1 ;; esac; done
    [ "$keep" = 1 ] || continue
  fi
  scripts+=("$s")
done

passed=0 failed=0 failures=()
for s in "${scripts[@]}"; do
  name=$(basename "$s" .test.sh)
  echo "=== $name"
  if timeout "${STOCKADE_VM_SCRIPT_TIMEOUT:-900}" bash "$s" 2>&1 | sed -u "s/^/[$name] /"; then
    status=0
  else
    status=1
  fi
  if [ "$status" = 0 ]; then
    echo "PASS: $name"; passed=$((passed + 1))
  else
    echo "FAIL: $name"; failed=$((failed + 1)); failures+=("$name")
  fi
done
summary="${passed} passed, ${failed} failed"
[ "$failed" = 0 ] || summary="$summary (${failures[*]})"
echo "$summary"
[ "$failed" = 0 ] && [ "$((passed + failed))" -gt 0 ]
