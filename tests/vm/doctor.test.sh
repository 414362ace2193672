#!/usr/bin/env bash
# `stockade doctor` on a cgroup v2 host with systemd as PID 1 (the VM): what it reports
# against what the VM is, and its cgroup verdicts against real runs in a delegated and an
# undelegated unit, and nesting seen from a PrivateUsers= service.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

UNITS=(dr-deleg.service dr-nodeleg.service dr-privusers.service)
cleanup() { stop_and_forget "${UNITS[@]}"; }
trap cleanup EXIT

has() { grep -qF -- "$2" <<<"$1"; }
# The compact JSON (one key per line as serde_json pretty-prints it) of doctor in UNIT's
# context: systemd-run --wait --pipe runs it as that transient service.
# A service starts in `/` unless told otherwise, where builtin:strict refuses to bind the
# working directory: the units run from a project directory, as a real one would.
PROJECT=/var/tmp/stockade-dr-project
mkdir -p "$PROJECT"
in_unit() {
  local unit=$1; shift
  systemd-run --quiet --wait --pipe --collect --unit "$unit" --working-directory="$PROJECT" "$@"
}

echo "# the host as doctor sees it"
out=$("$STOCKADE" doctor --format json)
check "doctor exits 0 without profiles" test $? = 0
has "$out" '"kind": "unified"' && ok "cgroup v2 (unified) detected" || not_ok "cgroup v2 not detected: $out"
has "$out" '"pid1": true' && ok "systemd is PID 1" || not_ok "systemd PID 1 not seen"
ver=$(systemctl --version | head -1 | awk '{print $2}')
has "$out" "\"version\": \"$ver\"" && ok "systemd version $ver" || not_ok "systemd version $ver not reported"
abi=$(grep -o '"landlock_abi": [0-9]*' <<<"$out" | awk '{print $2}')
check "a Landlock ABI is reported ($abi)" test -n "$abi"
text=$("$STOCKADE" doctor)
has "$text" "cgroup v2" && ok "text names cgroup v2" || not_ok "text: $text"

echo "# from /, doctor says why builtin:strict cannot run"
out=$(cd / && "$STOCKADE" doctor builtin:strict 2>/dev/null)
check_eq "doctor of builtin:strict from / exits 1" 1 "$?"
has "$out" "stacked on the sandbox's root" && ok "doctor names the mount onto /" || not_ok "doctor from /: $out"

echo "# delegated unit: resources enforced, as a real run confirms"
out=$(in_unit dr-deleg.service -p Delegate=yes "$STOCKADE" doctor builtin:strict)
rc=$?
check_eq "doctor of builtin:strict in a Delegate=yes unit exits 0" 0 "$rc"
# The cgroup keys are enforceable here (Landlock may be "less": the VM's kernel has ABI 2).
if grep -E '^  (less|FAIL) resources\.' <<<"$out"; then
  not_ok "resources not enforceable in a delegated unit: $out"
else
  has "$out" "ok   resources.memory" && ok "resources enforceable in a delegated unit" || not_ok "no resources.memory line: $out"
fi
abi=$(grep -o '"landlock_abi": [0-9]*' <<<"$("$STOCKADE" doctor --format json)" | awk '{print $2}')
if [ "${abi:-0}" -lt 6 ]; then
  grep -q '^  less landlock' <<<"$out" && ok "Landlock ABI $abi: strict's ABI 6 rules reported as not enforced" || not_ok "landlock verdict: $out"
fi
run=$(in_unit dr-deleg.service -p Delegate=yes "$STOCKADE" run --report-fd 1 builtin:strict -- true 2>&1)
has "$run" '"not_enforced": []' && ok "the real run enforced the limits too" || not_ok "run report: $run"

echo "# undelegated unit: resources not enforceable, as a real run confirms"
out=$(in_unit dr-nodeleg.service "$STOCKADE" doctor --format json builtin:strict)
has "$out" '"resources.memory"' || not_ok "no resources.memory need: $out"
if has "$out" '"verdict": "degraded"' || has "$out" '"verdict": "fails"'; then
  ok "doctor says the memory limit cannot be enforced without Delegate=yes"
else
  not_ok "doctor missed the undelegated cgroup: $out"
fi
has "$out" 'Delegate=yes' && ok "the fix names Delegate=yes" || not_ok "no Delegate=yes hint: $out"
run=$(in_unit dr-nodeleg.service "$STOCKADE" run --report-fd 1 builtin:strict -- true 2>&1)
has "$run" 'resources.memory' && ok "the real run reports resources.memory not enforced" || not_ok "run: $run"

echo "# PrivateUsers= service: nesting reported"
out=$(in_unit dr-privusers.service -p PrivateUsers=yes "$STOCKADE" doctor --format json)
has "$out" '"user_namespace": true' && ok "doctor sees the service's user namespace" || not_ok "nesting: $out"

finish
