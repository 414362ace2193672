# Helpers for tests/vm/*.test.sh (sourced). Each check prints ok/not ok; `finish` exits
# non-zero when any check failed. Waits poll with a generous cap (the VM is emulated and
# slow); they never assert on durations.

CHECKS=0
FAILED=0

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check DESC CMD...: passes when CMD succeeds.
check() {
  local desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc (command: $*)"; fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# wait_until SECS CMD...: poll CMD every 0.2 s until it succeeds; fails after SECS.
wait_until() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}

prop() { systemctl show -p "$2" --value "$1"; }

# unit_file NAME: write stdin to /run/systemd/system/NAME and reload systemd.
unit_file() {
  cat > "/run/systemd/system/$1"
  systemctl daemon-reload
}

# The host pid of the payload (stockade-testd) started by UNIT, or nothing.
payload_pid() {
  local cg
  cg=$(prop "$1" ControlGroup)
  [ -n "$cg" ] || return 1
  local p
  for p in $(find "/sys/fs/cgroup$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do
    if [ "$(cat /proc/$p/comm 2>/dev/null)" = "stockade-testd" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# In UNIT's payload network namespace: an HTTP GET through stockade-testd.
get_in_payload_net() {
  local pid
  pid=$(payload_pid "$1") || return 1
  nsenter -t "$pid" -n "$TESTD" get "127.0.0.1:$2" "$3"
}

journal() { journalctl --no-pager -o cat -u "$1" "${@:2}"; }

# Nothing of UNIT may be left: no process in its cgroup, no cgroup directory.
unit_clean() {
  local u=$1
  [ "$(prop "$u" ActiveState)" != active ] || return 1
  [ -z "$(prop "$u" ControlGroup)" ] || return 1
  ! pgrep -x stockade-testd >/dev/null
}

stop_and_forget() {
  systemctl stop "$@" >/dev/null 2>&1 || true
  systemctl reset-failed "$@" >/dev/null 2>&1 || true
}

finish() {
  echo "$CHECKS checks, $FAILED failed"
  [ "$FAILED" = 0 ]
}
