#!/usr/bin/env bash
# Installs the .deb (packaging/build-deb.sh) with dpkg -i, checks what it installed and runs
# a sandbox from the installed package, then removes it with dpkg -r and checks that
# nothing is left. Needs root. Refuses to run where a stockade package is already
# installed (it would be replaced, then removed).
#   packaging/test-deb.sh DEB
set -euo pipefail
deb=$1
[ "$(id -u)" = 0 ] || { echo "test-deb: needs root (dpkg -i)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' stockade 2>/dev/null | grep -q "install ok installed"; then
  echo "test-deb: a stockade package is already installed; not touching it" >&2
  exit 1
fi
failed=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; failed=1; }
removed=0
cleanup() { [ "$removed" = 1 ] || dpkg -r stockade >/dev/null 2>&1 || true; }
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
mapfile -t files < <(dpkg -L stockade | while read -r f; do [ -f "$f" ] && echo "$f"; done)
for want in /usr/bin/stockade /usr/share/man/man1/stockade.1.gz \
            /usr/share/bash-completion/completions/stockade /usr/share/zsh/vendor-completions/_stockade \
            /usr/share/fish/vendor_completions.d/stockade.fish /usr/share/stockade/profiles/cargo-build.toml \
            /usr/share/stockade/profiles/base/minimal.toml /usr/share/stockade/examples/systemd/web-static.service; do
  printf '%s\n' "${files[@]}" | grep -qx "$want" && ok "installs $want" || bad "missing $want"
done
# The binary in the package is the static one.
if readelf -d /usr/bin/stockade | grep -q NEEDED; then bad "/usr/bin/stockade is dynamically linked"; else ok "static binary"; fi
zcat /usr/share/man/man1/stockade.1.gz | grep -q '^\.TH' && ok "man page is roff" || bad "man page"
grep -q 'ExecStart=/usr/bin/stockade ' /usr/share/stockade/examples/systemd/web-static.service \
  && ok "example units use /usr/bin/stockade" || bad "example units still point elsewhere"
bash -c '. /usr/share/bash-completion/completions/stockade && complete -p stockade' >/dev/null \
  && ok "bash completion loads" || bad "bash completion"
# A sandbox from the installed package: a shipped profile, checked from inside.
out=$(cd /tmp && /usr/bin/stockade run /usr/share/stockade/profiles/base/minimal.toml -- sh -c 'echo "$(hostname) $(id -u) $(readlink /proc/self/ns/pid)"' 2>&1) || bad "run failed: $out"
host_pidns=$(readlink /proc/self/ns/pid)
case "$out" in
  *"$host_pidns"*) bad "the sandbox shares the host PID namespace: $out" ;;
  *pid:*) ok "sandbox from the installed package runs in its own PID namespace ($out)" ;;
  *) bad "unexpected output: $out" ;;
esac
/usr/bin/stockade check /usr/share/stockade/profiles/*.toml >/dev/null && ok "shipped profiles check clean" || bad "shipped profiles do not check"

dpkg -r stockade >/dev/null
removed=1
left=0
for f in "${files[@]}"; do [ -e "$f" ] && { bad "left behind: $f"; left=1; }; done
[ "$left" = 0 ] && ok "dpkg -r removed every file"
dpkg-query -W -f='${Status}' stockade 2>/dev/null | grep -q "install ok installed" && bad "still installed" || ok "not installed after dpkg -r"
exit "$failed"
