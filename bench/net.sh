#!/usr/bin/env bash
# Egress benchmark (issue 14): `network.mode = "proxy"` against the alternatives, in the
# same run, interleaved.
#
#   1. bulk download of a 100 MiB file from a local HTTP server on 127.0.0.2 with curl in
#      the sandbox: through the proxy (mode = "proxy", plain-HTTP forward: the proxy parses
#      the request and copies the body) against a direct connection (mode = "host"); time to
#      first byte and throughput, median of ROUNDS;
#   2. launch latency of `stockade run P -- /bin/true` with mode = "proxy" against
#      mode = "none", median of LAUNCHES.
#
#   bench/net.sh [--smoke]     (STOCKADE_BIN overrides the binary; default target/release,
#                               else target/debug)
# Uses the test-only resolver map of the proxy (STOCKADE_TEST_NET_HOSTS, see
# src/net/resolve.rs) so no network is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 LAUNCHES=40 SIZE_MIB=100
if [ "${1:-}" = "--smoke" ]; then ROUNDS=1 LAUNCHES=3 SIZE_MIB=4; fi
bin="${STOCKADE_BIN:-}"
[ -z "$bin" ] && for b in target/release/stockade target/debug/stockade; do [ -x "$b" ] && bin=$b && break; done
[ -n "$bin" ] || { echo "bench/net.sh: build stockade first" >&2; exit 1; }
work=$(mktemp -d /tmp/stockade-bench-net.XXXXXX)
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$work/blob"
port=$((30000 + $$ % 1000))
(cd "$work" && exec python3 -m http.server "$port" --bind 127.0.0.2 >/dev/null 2>&1) & srv=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.2:$port/" && break; sleep 0.1; done

common='extends = ["builtin:strict"]'
printf 'version = 1\n%s\n[network]\nmode = "proxy"\nallow = ["bulk.test:%s"]\n' "$common" "$port" > "$work/proxy.toml"
printf 'version = 1\n%s\n[network]\nmode = "host"\n[namespaces]\nnet = false\n' "$common" > "$work/host.toml"
printf 'version = 1\n%s\n[network]\nmode = "none"\n' "$common" > "$work/none.toml"
export STOCKADE_TEST_NET_HOSTS="bulk.test=127.0.0.2" STOCKADE_TEST_NET_LOOPBACK=1

fmt='%{time_starttransfer} %{speed_download}\n'
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
: > "$work/direct" ; : > "$work/proxied"
for _ in $(seq "$ROUNDS"); do
  "$bin" run "$work/host.toml" -- curl -s -o /dev/null -w "$fmt" "http://127.0.0.2:$port/blob" 2>/dev/null >> "$work/direct"
  "$bin" run "$work/proxy.toml" -- curl -s -o /dev/null -w "$fmt" "http://bulk.test:$port/blob" 2>/dev/null >> "$work/proxied"
done
for k in direct proxied; do
  ttfb=$(awk '{print $1 * 1000}' "$work/$k" | median)
  mibs=$(awk '{print $2 / 1048576}' "$work/$k" | median)
  printf '%-8s %3d MiB: time to first byte %7.2f ms, throughput %8.1f MiB/s (median of %d)\n' "$k" "$SIZE_MIB" "$ttfb" "$mibs" "$ROUNDS"
done

: > "$work/l-none"; : > "$work/l-proxy"
now() { date +%s%N; }
for _ in $(seq "$LAUNCHES"); do
  for m in none proxy; do
    t0=$(now); "$bin" run "$work/$m.toml" -- /bin/true 2>/dev/null; t1=$(now)
    echo $(( (t1 - t0) / 1000 )) >> "$work/l-$m"
  done
done
for m in none proxy; do
  printf 'launch mode=%-5s %8.2f ms (median of %d, %s)\n' "$m" "$(awk '{print $1 / 1000}' "$work/l-$m" | median)" "$LAUNCHES" "$bin"
done
