#!/usr/bin/env bash
# Adapter: the cgroup suites (tests/cgroup_*.rs, built on the host by tests/vm/run.sh and
# listed in target/vm/cgroup-tests.txt) in the three delegation settings of
# tests/vm/cgroup-v2-guest.sh, inside the same VM boot as the other *.test.sh scripts.
set -uo pipefail
cd "$(dirname "$0")/../.."
list=target/vm/cgroup-tests.txt
if [ ! -s "$list" ]; then
  echo "cgroup-v2: $list is missing or empty (run tests/vm/run.sh, which builds the suites)"
  exit 1
fi
mapfile -t bins < "$list"
exec bash tests/vm/cgroup-v2-guest.sh "${bins[@]}"
