#!/usr/bin/env bash
# stockade inside a systemd service with PrivateUsers= (the service runs in a user
# namespace of its own, as root mapped to root only): the sandbox starts, gets namespaces
# of its own below the service's, and doctor reports the nesting.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cleanup() { stop_and_forget nest-privusers.service nest-privusers-doctor.service; }
trap cleanup EXIT
has() { grep -qF -- "$2" <<<"$1"; }

script=$(mktemp /tmp/nest.XXXXXX.sh)
cat > "$script" <<'SH'
#!/bin/sh
echo "service $(readlink /proc/self/ns/user) $(readlink /proc/self/ns/pid)"
exec stockade run builtin:minimal -- sh -c 'echo "sandbox $(readlink /proc/self/ns/user) $(readlink /proc/self/ns/pid) $(id -u)"'
SH
chmod 755 "$script"
out=$(systemd-run --quiet --wait --pipe --collect --unit nest-privusers.service -p PrivateUsers=yes "$script" 2>&1)
rc=$?
echo "$out"
check_eq "stockade runs in a PrivateUsers=yes service" 0 "$rc"
svc=$(grep '^service ' <<<"$out")
sbx=$(grep '^sandbox ' <<<"$out")
host_user=$(readlink /proc/self/ns/user)
set -- $svc; svc_user=$2; svc_pid=$3
set -- $sbx; sbx_user=${2:-}; sbx_pid=${3:-}; sbx_uid=${4:-}
[ "$svc_user" != "$host_user" ] && ok "the service has its own user namespace" || not_ok "PrivateUsers= gave no user namespace"
[ -n "$sbx_user" ] && [ "$sbx_user" != "$svc_user" ] && ok "the sandbox has a user namespace below the service's" || not_ok "sandbox user ns: $sbx"
[ -n "$sbx_pid" ] && [ "$sbx_pid" != "$svc_pid" ] && ok "the sandbox has its own PID namespace" || not_ok "sandbox pid ns: $sbx"
check_eq "uid 0 inside" 0 "$sbx_uid"

out=$(systemd-run --quiet --wait --pipe --collect --unit nest-privusers-doctor.service -p PrivateUsers=yes "$STOCKADE" doctor builtin:minimal 2>&1)
rc=$?
check_eq "doctor in the PrivateUsers=yes service predicts success" 0 "$rc"
has "$out" "in a user namespace" && ok "doctor reports the service's user namespace" || not_ok "doctor: $out"
rm -f "$script"
finish
