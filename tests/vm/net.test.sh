#!/usr/bin/env bash
# Issue 14 on the VM's Linux 6.1: Landlock ABI 2 has no TCP rules, so stockade's proxy and
# the sandbox's own network namespace are the only controls. The allow/deny cases of
# tests/net_proxy.rs, with curl (which honours http_proxy) against a local server
# on 127.0.0.2, as root and as `tester`: the allowed host is reached; a denied name, an IP
# literal, a wrong port and a direct connection are not; every decision is in the report.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/stockade-net.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/www" "$T/root" "$T/tester"
chown tester:tester "$T/tester"
echo fetched-over-proxy > "$T/www/index.html"
PORT=18095
"$TESTD" serve --listen 127.0.0.2:$PORT --dir "$T/www" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$T"' EXIT
wait_until 60 "$TESTD" get 127.0.0.2:$PORT /index.html || not_ok "the local server did not start"

cat > "$T/proxy.toml" <<TOML
version = 1
extends = ["/etc/stockade/base/minimal.toml"]
[network]
mode = "proxy"
allow = ["plain.test:$PORT"]
TOML
chmod 644 "$T/proxy.toml"
export STOCKADE_TEST_NET_HOSTS="plain.test=127.0.0.2,evil.test=127.0.0.2" STOCKADE_TEST_NET_LOOPBACK=1

# fetch WHO URL [env-prefix...]: curl of URL in the sandbox; prints the body.
fetch() {
  local who=$1 url=$2; shift 2
  local report="$T/$who/report.json"
  rm -f "$report"
  local cmd=("$STOCKADE" run "$T/proxy.toml" --report "$report" -- "$@" curl -sf --max-time 10 "$url")
  if [ "$who" = root ]; then
    (cd "$T/$who" && "${cmd[@]}")
  else
    (cd "$T/$who" && setpriv --reuid=tester --regid=tester --init-groups env HOME=/tmp \
      STOCKADE_TEST_NET_HOSTS="$STOCKADE_TEST_NET_HOSTS" STOCKADE_TEST_NET_LOOPBACK=1 "${cmd[@]}")
  fi
}
# verdict_in_report WHO HOST VERDICT: the (flattened) report has that decision.
verdict_in_report() {
  tr -d ' \n' < "$T/$1/report.json" | grep -q "\"host\":\"$2\"[^}]*\"verdict\":\"$3\""
}

for who in root tester; do
  out=$(fetch $who "http://plain.test:$PORT/index.html" 2>"$T/err")
  check_eq "$who: the allowed host is reached through the proxy" fetched-over-proxy "$out"
  if verdict_in_report $who plain.test allowed; then
    ok "$who: the report records the allowed connection"
  else
    not_ok "$who: no allowed entry in the report: $(cat "$T/$who/report.json")"
  fi

  out=$(fetch $who "http://evil.test:$PORT/index.html" 2>"$T/err")
  if [ -z "$out" ] && grep -q "denied http evil.test:$PORT" "$T/err"; then
    ok "$who: a name not on the list is denied, with one line naming it"
  else
    not_ok "$who: evil.test: out='$out' err=$(cat "$T/err")"
  fi
  if verdict_in_report $who evil.test denied; then ok "$who: the report records the denial"
  else not_ok "$who: no denied entry: $(cat "$T/$who/report.json")"; fi

  out=$(fetch $who "http://127.0.0.2:$PORT/index.html" 2>"$T/err")
  check_eq "$who: an IP literal is refused" "" "$out"
  out=$(fetch $who "http://plain.test:$((PORT + 1))/index.html" 2>"$T/err")
  check_eq "$who: the allowed name on another port is refused" "" "$out"
  # Without the proxy variables curl connects directly: the namespace has no route.
  out=$(fetch $who "http://127.0.0.2:$PORT/index.html" env -u http_proxy -u HTTP_PROXY 2>"$T/err")
  check_eq "$who: a direct connection has no route" "" "$out"
done
finish
