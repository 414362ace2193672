#!/usr/bin/env bash
# Issue 12 on the VM's Linux 6.1 (Landlock ABI < 6, so builtin:strict's best-effort drops
# scopes), systemd 252 and cgroup v2: builtin:strict refuses to start from `/` and from
# $HOME; in a checkout `.git/config` and `.git/hooks` stay read-only and `/..` leads
# nowhere, with Landlock on and off, as root and as `tester`, from a shell and as a
# systemd service; a symlink the payload plants at the report's name is not followed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/stockade-workdir.XXXXXX)
trap 'rm -rf "$T" /var/tmp/stockade-vm-wd-mark' EXIT
chmod 755 "$T"
printf 'version = 1\nextends = ["builtin:strict"]\n[landlock]\nenabled = false\n' > "$T/off.toml"

# setup WHO: a fresh checkout, home and victim owned by WHO (root in the sandbox has no
# CAP_DAC_OVERRIDE, so it cannot write a tree another user owns).
setup() {
  rm -rf "$T/home" "$T/repo" "$T/victim" /var/tmp/stockade-vm-wd-mark
  mkdir -p "$T/home" "$T/repo/.git/hooks"
  printf '[core]\n\tbare = false\n' > "$T/repo/.git/config"
  cp "$T/repo/.git/config" "$T/config.orig"
  echo precious > "$T/victim"
  chown -R "$1:$1" "$T/home" "$T/repo" "$T/victim"
}

# as WHO DIR ARGS...: stockade ARGS from DIR, as root or tester, with HOME=$T/home.
as() {
  local who=$1 dir=$2; shift 2
  if [ "$who" = root ]; then
    (cd "$dir" && env HOME="$T/home" "$STOCKADE" "$@")
  else
    (cd "$dir" && setpriv --reuid=tester --regid=tester --init-groups env HOME="$T/home" "$STOCKADE" "$@")
  fi
}

ATTACK='
try() { n=$1; shift; if ( "$@" ) 2>/dev/null; then echo "WROTE $n"; else echo "ok $n"; fi; }
try config sh -c "echo x >> .git/config"
try hook sh -c "echo x > .git/hooks/pre-commit"
try envrc sh -c "echo x > .envrc"
try dotdot sh -c "echo x > /../var/tmp/stockade-vm-wd-mark"
try proc-root sh -c "echo x > /proc/self/root/../var/tmp/stockade-vm-wd-mark"
[ "$(ls -a /.. | tr "\n" " ")" = "$(ls -a / | tr "\n" " ")" ] && echo "ok dotdot-is-root"
echo built > out.txt && echo "ok normal-write"'

host_unchanged() {
  cmp -s "$T/repo/.git/config" "$T/config.orig" && [ ! -e "$T/repo/.git/hooks/pre-commit" ] &&
    [ ! -e "$T/repo/.envrc" ] && [ ! -e /var/tmp/stockade-vm-wd-mark ] &&
    [ "$(cat "$T/victim")" = precious ] && [ "$(cat "$T/repo/out.txt")" = built ]
}

attacks_refused() { # DESC OUTPUT
  local n bad=
  grep -q WROTE <<<"$2" && bad=1
  for n in config hook envrc dotdot proc-root dotdot-is-root normal-write; do
    grep -qx "ok $n" <<<"$2" || bad=1
  done
  if [ -z "$bad" ] && host_unchanged; then ok "$1"; else not_ok "$1: $2"; fi
  rm -f "$T/repo/out.txt"
}

for who in root tester; do
  setup "$who"
  out=$(as "$who" / run -- /bin/true 2>&1)
  check_eq "$who: strict refuses to start from / (exit 125)" 125 "$?"
  grep -q 'onto `/`' <<<"$out" && ok "$who: the refusal says why" || not_ok "$who: the refusal says why: $out"
  out=$(as "$who" "$T/home" run -- /bin/true 2>&1)
  check_eq "$who: strict refuses to start from \$HOME (exit 125)" 125 "$?"
  grep -q 'the home directory' <<<"$out" && ok "$who: the \$HOME refusal says why" || not_ok "$who: the \$HOME refusal says why: $out"

  attacks_refused "$who: checkout, Landlock on" "$(as "$who" "$T/repo" run -- sh -c "$ATTACK" 2>&1)"
  attacks_refused "$who: checkout, Landlock off" "$(as "$who" "$T/repo" run "$T/off.toml" -- sh -c "$ATTACK" 2>&1)"

  out=$(as "$who" "$T/repo" run --report run.json -- sh -c "rm -f run.json; ln -s $T/victim run.json; exit 7" 2>&1)
  check_eq "$who: a planted report symlink keeps the payload's status" 7 "$?"
  grep -q "report file run.json was replaced during the run" <<<"$out" &&
    [ "$(cat "$T/victim")" = precious ] && ok "$who: the report did not follow the symlink" ||
    not_ok "$who: the report did not follow the symlink: $out"
  rm -f "$T/repo/run.json"
done

# As a systemd service (its own cgroup under system.slice), root and User=tester.
for user in root tester; do
  setup "$user"
  out=$(systemd-run --quiet --wait --pipe --collect --unit "wd-$user.service" -p User="$user" \
    -p WorkingDirectory="$T/repo" -E HOME="$T/home" "$STOCKADE" run -- sh -c "$ATTACK" 2>&1)
  attacks_refused "systemd service as $user: checkout, Landlock on" "$out"
done
finish
