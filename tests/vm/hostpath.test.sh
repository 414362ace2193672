#!/usr/bin/env bash
# Host paths on the VM's Linux 6.1 (issue 18): no `lowerdir+` there, so overlay layers go
# through the joined `lowerdir=` of /proc/self/fd paths; a dir mode is set by fd; a bind
# source that is a symlink is refused at its key, and followed with the opt-in.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/stockade-hostpath.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/l1" "$T/l2" "$T/up" "$T/wk" "$T/real"
echo one > "$T/l1/a"; echo two > "$T/l2/b"; echo real > "$T/real/marker"
ln -s "$T/real" "$T/link"

profile() {
  cat > "$T/$1.toml" <<P
version = 1
extends = ["builtin:minimal"]

[[mount]]
type = "overlay"
target = "/ov"
lower = ["$T/l1", "$T/l2"]
upper = "$T/up"
work = "$T/wk"

[[mount]]
type = "dir"
target = "/tmp/d"
mode = "0751"

[[mount]]
type = "bind"
source = "$T/link"
target = "/data"
$2
P
}

profile refused ""
out=$(stockade run "$T/refused.toml" -- /bin/true 2>&1)
check_eq "a symlinked bind source is refused (exit 125)" 125 "$?"
grep -q "is a symbolic link: $T/link -> $T/real" <<<"$out" && ok "the error names the link" || not_ok "the error names the link: $out"

profile followed "follow-symlinks = true"
grep -q "bind $T/real -> /data" <<<"$(stockade plan "$T/followed.toml")" && ok "plan shows the resolved source" || not_ok "plan shows the resolved source"
out=$(stockade run "$T/followed.toml" -- /bin/sh -c 'cat /ov/a /ov/b /data/marker; echo w > /ov/new; stat -c %a /tmp/d' 2>&1)
check_eq "overlay layers, the followed bind and the dir mode" "$(printf 'one\ntwo\nreal\n751')" "$out"
check_eq "the overlay write landed in the upper dir" w "$(cat "$T/up/new" 2>/dev/null)"
finish
