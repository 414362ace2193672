#!/usr/bin/env bash
# The sd_notify relay under the VM's real systemd (issue 17), each case as a pair of units,
# the payload run directly and under stockade, with the same `systemctl show` expected:
# a child of the main process sending READY=1 (NotifyAccess=main: a start timeout; with
# NotifyAccess=all and `notify-access = "all"`: ready), and 1000 STATUS= messages sent as
# fast as they go (the last one is the unit's StatusText).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

UNITS=(nt-child-plain.service nt-child-boxed.service nt-all-plain.service nt-all-boxed.service
       nt-status-plain.service nt-status-boxed.service)
cleanup() { stop_and_forget "${UNITS[@]}"; rm -f /etc/stockade/test/notify-all.toml; }
trap cleanup EXIT

PROPS=Result,ActiveState,SubState,StatusText,NRestarts
show() { systemctl show -p "$PROPS" "$1" | sort; }
# pair NAME EXTRA_UNIT_LINES PAYLOAD [PROFILE]: nt-NAME-plain runs PAYLOAD, nt-NAME-boxed
# runs it under stockade (PROFILE, default notify-daemon.toml).
pair() {
  local name=$1 extra=$2 payload=$3 profile=${4:-/etc/stockade/notify-daemon.toml}
  printf '[Service]\nType=notify\nExecStart=%s\n%b\n' "$payload" "$extra" | unit_file "nt-$name-plain.service"
  printf '[Service]\nType=notify\nExecStart=%s run %s -- %s\n%b\n' "$STOCKADE" "$profile" "$payload" "$extra" \
    | unit_file "nt-$name-boxed.service"
}
settled() { [ "$(prop "$1" ActiveState)" != activating ]; }

echo "# Type=notify, READY=1 from a child of the main process: NotifyAccess=main times out"
pair child 'TimeoutStartSec=20s' "$TESTD notify-from-child READY=1"
systemctl start --no-block nt-child-plain.service nt-child-boxed.service
for k in plain boxed; do
  check "$k: the start ends" wait_until 180 settled "nt-child-$k.service"
done
plain=$(show nt-child-plain.service); boxed=$(show nt-child-boxed.service)
echo "plain: $(echo $plain)"; echo "boxed: $(echo $boxed)"
check_eq "plain unit: Result=timeout" timeout "$(prop nt-child-plain.service Result)"
check_eq "same systemctl show under stockade" "$plain" "$boxed"
check "stockade says why it dropped the child's message" bash -c \
  "journalctl -o cat -u nt-child-boxed.service | grep -q 'not the payload.s main process'"
stop_and_forget nt-child-plain.service nt-child-boxed.service

echo "# the same with NotifyAccess=all (and notify-access = \"all\"): ready"
cat > /etc/stockade/test/notify-all.toml <<TOML
version = 1
extends = ["/etc/stockade/notify-daemon.toml"]
[systemd]
notify-access = "all"
TOML
pair all 'TimeoutStartSec=120s\nNotifyAccess=all' "$TESTD notify-from-child READY=1" /etc/stockade/test/notify-all.toml
check "plain: start" systemctl start nt-all-plain.service
check "boxed: start" systemctl start nt-all-boxed.service
[ "$(prop nt-all-boxed.service ActiveState)" = active ] || journal nt-all-boxed.service | tail -8
check "boxed: the main process's mark arrived" wait_until 60 bash -c \
  '[ "$(systemctl show -p StatusText --value nt-all-boxed.service)" = "main process here" ]'
check "plain: the main process's mark arrived" wait_until 60 bash -c \
  '[ "$(systemctl show -p StatusText --value nt-all-plain.service)" = "main process here" ]'
plain=$(show nt-all-plain.service); boxed=$(show nt-all-boxed.service)
echo "plain: $(echo $plain)"; echo "boxed: $(echo $boxed)"
check_eq "plain unit active" active "$(prop nt-all-plain.service ActiveState)"
check_eq "same systemctl show under stockade" "$plain" "$boxed"
stop_and_forget nt-all-plain.service nt-all-boxed.service

echo "# 1000 STATUS= messages, then READY=1: all arrive, the last is the StatusText"
pair status 'TimeoutStartSec=300s' "$TESTD notify-status 1000 wait"
check "plain: start" systemctl start nt-status-plain.service
check "boxed: start" systemctl start nt-status-boxed.service
[ "$(prop nt-status-boxed.service ActiveState)" = active ] || journal nt-status-boxed.service | tail -8
plain=$(show nt-status-plain.service); boxed=$(show nt-status-boxed.service)
echo "plain: $(echo $plain)"; echo "boxed: $(echo $boxed)"
check_eq "plain: StatusText is the last message" 1000 "$(prop nt-status-plain.service StatusText)"
check_eq "same systemctl show under stockade" "$plain" "$boxed"
check "nothing lost or dropped by the relay" bash -c \
  "! journalctl -o cat -u nt-status-boxed.service | grep -qE 'not delivered|forwarding to systemd failed'"
stop_and_forget nt-status-plain.service nt-status-boxed.service

finish
