#!/usr/bin/env bash
# stockade is transparent to systemd: each case is a pair of units, the plain command and
# the same command under `stockade run builtin:minimal --`, and systemd must see the same
# thing for both (`systemctl show` properties, the journal's lines): stop of a sleeping
# payload, death by a signal with Restart=on-abnormal, the SIGPIPE disposition systemd
# gives services, one delivery per `systemctl kill`, RuntimeMaxSec=, and stockade's own
# wall-time limit beside timeout(1).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

UNITS=()
for c in stop abnormal sigpipe kill runtimemax walltime; do
  UNITS+=("tp-$c-plain.service" "tp-$c-wrapped.service")
done
cleanup() { stop_and_forget "${UNITS[@]}"; }
trap cleanup EXIT

WRAP="$STOCKADE run builtin:minimal --"

# pair NAME CMD [UNIT-LINES]: write tp-NAME-plain and tp-NAME-wrapped.
pair() {
  local name=$1 cmd=$2 extra=${3:-}
  printf '[Service]\nExecStart=%s\n%b' "$cmd" "$extra" | unit_file "tp-$name-plain.service"
  printf '[Service]\nExecStart=%s %s\n%b' "$WRAP" "$cmd" "$extra" | unit_file "tp-$name-wrapped.service"
}

# same NAME PROPERTY [EXPECTED]: the property is equal for both units (and EXPECTED).
same() {
  local a b
  a=$(prop "tp-$1-plain.service" "$2")
  b=$(prop "tp-$1-wrapped.service" "$2")
  check_eq "$1: $2 the same with and without stockade ($a)" "$a" "$b"
  [ -z "${3:-}" ] || check_eq "$1: $2 is $3" "$3" "$a"
}

both() { local n=$1; shift; for v in plain wrapped; do "$@" "tp-$n-$v.service"; done; }

echo "# systemctl stop of a sleeping payload"
pair stop "/bin/sleep 1000"
both stop systemctl start
check "both running" wait_until 60 bash -c \
  '[ "$(systemctl show -p SubState --value tp-stop-plain.service)" = running ] && [ "$(systemctl show -p SubState --value tp-stop-wrapped.service)" = running ]'
both stop systemctl stop
same stop Result success
same stop ActiveState inactive
# systemd logs how the main process ended unless it was a clean stop; the same for both.
check_eq "stop: the journal's exit lines the same with and without stockade" \
  "$(journal tp-stop-plain.service | grep 'Main process exited' | sed 's/^[^:]*: //' || true)" \
  "$(journal tp-stop-wrapped.service | grep 'Main process exited' | sed 's/^[^:]*: //' || true)"

echo "# death by SIGUSR2 with Restart=on-abnormal"
pair abnormal "/bin/sh -c 'sleep 1; kill -USR2 \$\$\$\$'" "Restart=on-abnormal\nRestartSec=1s\nStartLimitBurst=100\n"
both abnormal systemctl start
for v in plain wrapped; do
  check "$v: restarted after the signal" wait_until 120 bash -c \
    "[ \"\$(systemctl show -p NRestarts --value tp-abnormal-$v.service)\" -ge 1 ]"
done
both abnormal systemctl stop
check_eq "abnormal: the first exit line the same with and without stockade" \
  "$(journal tp-abnormal-plain.service | grep -m1 'Main process exited' | sed 's/^[^:]*: //')" \
  "$(journal tp-abnormal-wrapped.service | grep -m1 'Main process exited' | sed 's/^[^:]*: //')"
check "the plain unit died of SIGUSR2 (status 12)" bash -c \
  "journalctl -o cat -u tp-abnormal-plain.service | grep -q 'status=12/USR2'"
check "the wrapped unit died of SIGUSR2 too" bash -c \
  "journalctl -o cat -u tp-abnormal-wrapped.service | grep -q 'status=12/USR2'"

echo "# the SIGPIPE disposition (IgnoreSIGPIPE=yes) reaches the payload"
pair sigpipe "/bin/grep SigIgn /proc/self/status" "Type=oneshot\n"
both sigpipe systemctl start
plain_ign=$(journal tp-sigpipe-plain.service | grep '^SigIgn' | tail -1)
wrapped_ign=$(journal tp-sigpipe-wrapped.service | grep '^SigIgn' | tail -1)
check_eq "SigIgn the same with and without stockade" "$plain_ign" "$wrapped_ign"
check "SIGPIPE (bit 13) is ignored" bash -c \
  "[ \$(( 0x$(awk '{print $2}' <<<"$plain_ign") & 0x1000 )) -ne 0 ]"
same sigpipe Result success

echo "# systemctl kill: one delivery per signal (KillMode=control-group)"
pair kill "$TESTD count-signals"
both kill systemctl start
for v in plain wrapped; do
  check "$v: ready" wait_until 60 bash -c "journalctl -o cat -u tp-kill-$v.service | grep -q '^ready'"
done
both kill systemctl kill -s SIGUSR1
both kill systemctl kill -s SIGUSR2
sleep 2
for sig in 10 12; do
  p=$(journal tp-kill-plain.service | grep -c "signal $sig ")
  w=$(journal tp-kill-wrapped.service | grep -c "signal $sig ")
  check_eq "signal $sig delivered as often with stockade as without" "$p" "$w"
  check_eq "signal $sig delivered once" 1 "$w"
done
both kill systemctl stop
same kill Result success

echo "# RuntimeMaxSec=: systemd's own limit"
pair runtimemax "/bin/sleep 1000" "RuntimeMaxSec=3s\n"
both runtimemax systemctl start
for v in plain wrapped; do
  check "$v: stopped by RuntimeMaxSec" wait_until 120 bash -c \
    "[ \"\$(systemctl show -p ActiveState --value tp-runtimemax-$v.service)\" != active ]"
done
same runtimemax Result timeout

echo "# stockade's wall-time limit beside timeout(1): exit status 124"
mkdir -p /etc/stockade/test
printf 'version = 1\nextends = ["builtin:minimal"]\n[process]\ntimeout = "2s"\ngrace = "2s"\n' \
  > /etc/stockade/test/walltime.toml
printf '[Service]\nExecStart=/usr/bin/timeout 2 /bin/sleep 1000\n' | unit_file tp-walltime-plain.service
printf '[Service]\nExecStart=%s run /etc/stockade/test/walltime.toml -- /bin/sleep 1000\n' "$STOCKADE" \
  | unit_file tp-walltime-wrapped.service
both walltime systemctl start
for v in plain wrapped; do
  check "$v: ended" wait_until 120 bash -c \
    "[ \"\$(systemctl show -p ActiveState --value tp-walltime-$v.service)\" != active ]"
done
same walltime Result exit-code
same walltime ExecMainStatus 124

finish
