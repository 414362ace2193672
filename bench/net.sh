#!/usr/bin/env bash
# Egress benchmark (issue 14): `network.mode = "proxy"` against the alternatives, in the
# same run, interleaved.
#
#   1. bulk download of a 100 MiB file with curl in the sandbox, from local servers on
#      127.0.0.2: plain HTTP (`python3 -m http.server`; through the proxy this is a
#      plain-HTTP forward) and HTTPS (tests/net/https_server.py with a test CA made here;
#      through the proxy a CONNECT tunnel), each through the proxy (mode = "proxy") and
#      directly (mode = "host"); time to first byte, throughput and the CPU time of the whole
#      `stockade run` (user + system of stockade, the proxy and curl, from bash's `time`),
#      median of ROUNDS;
#   2. launch latency of `stockade run P -- /bin/true` with mode = "proxy" against
#      mode = "none", median of LAUNCHES.
#
#   bench/net.sh [--smoke]     (STOCKADE_BIN overrides the binary; default target/release,
#                               else target/debug)
#   STOCKADE_BIN_BASE=/path/to/old/stockade bench/net.sh
#                              also measures that binary, interleaved with STOCKADE_BIN
#                              (before/after); its rows are labelled `base`.
# Uses the test-only resolver map of the proxy (STOCKADE_TEST_NET_HOSTS, see
# src/net/resolve.rs) so no network is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
ROUNDS=5 LAUNCHES=40 SIZE_MIB=100
if [ "${1:-}" = "--smoke" ]; then ROUNDS=1 LAUNCHES=3 SIZE_MIB=4; fi
bin="${STOCKADE_BIN:-}"
[ -z "$bin" ] && for b in target/release/stockade target/debug/stockade; do [ -x "$b" ] && bin=$b && break; done
[ -n "$bin" ] || { echo "bench/net.sh: build stockade first" >&2; exit 1; }
bin=$(realpath "$bin")
labels=(new) ; declare -A bins=([new]=$bin)
if [ -n "${STOCKADE_BIN_BASE:-}" ]; then
  bins[base]=$(realpath "$STOCKADE_BIN_BASE"); labels=(base new)
fi
work=$(mktemp -d /tmp/stockade-bench-net.XXXXXX)
srv= tsrv=
trap 'kill $srv $tsrv 2>/dev/null; rm -rf "$work"' EXIT
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$work/blob"

# The test CA and a certificate for bulk.test (as tests/net_support's make_certs does).
ssl() { openssl "$@" >/dev/null 2>&1; }
(cd "$work" &&
  ssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=stockade test CA" &&
  ssl req -newkey rsa:2048 -nodes -keyout bulk.key -out bulk.csr -subj "/CN=bulk.test" &&
  echo "subjectAltName=DNS:bulk.test" > bulk.ext &&
  ssl x509 -req -in bulk.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out bulk.pem -days 2 -extfile bulk.ext)

port=$((30000 + $$ % 1000)) tport=$((31000 + $$ % 1000))
(cd "$work" && exec python3 -m http.server "$port" --bind 127.0.0.2 >/dev/null 2>&1) & srv=$!
python3 tests/net/https_server.py 127.0.0.2 "$tport" "@$work" "$work/bulk.pem" "$work/bulk.key" >/dev/null 2>&1 & tsrv=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.2:$port/" && break; sleep 0.1; done
for _ in $(seq 50); do
  curl -s -o /dev/null --cacert "$work/ca.pem" --resolve "bulk.test:$tport:127.0.0.2" "https://bulk.test:$tport/ca.pem" && break
  sleep 0.1
done

common='extends = ["builtin:strict"]'
printf 'version = 1\n%s\n[network]\nmode = "proxy"\nallow = ["bulk.test:%s", "bulk.test:%s"]\n' "$common" "$port" "$tport" > "$work/proxy.toml"
printf 'version = 1\n%s\n[network]\nmode = "host"\n[namespaces]\nnet = false\n' "$common" > "$work/host.toml"
printf 'version = 1\n%s\n[network]\nmode = "none"\n' "$common" > "$work/none.toml"
export STOCKADE_TEST_NET_HOSTS="bulk.test=127.0.0.2" STOCKADE_TEST_NET_LOOPBACK=1

# The runs use $work as the current directory: builtin:strict binds it (the CA is there).
cd "$work"
fmt='%{time_starttransfer} %{speed_download} %{size_download}\n'
declare -A profile=([direct-http]=host [proxy-http]=proxy [direct-https]=host [proxy-https]=proxy)
declare -A url=(
  [direct-http]="http://127.0.0.2:$port/blob"
  [proxy-http]="http://bulk.test:$port/blob"
  [direct-https]="https://bulk.test:$tport/blob"
  [proxy-https]="https://bulk.test:$tport/blob"
)
kinds=(direct-http proxy-http direct-https proxy-https)
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
TIMEFORMAT='%3U %3S'
for l in "${labels[@]}"; do for k in "${kinds[@]}"; do : > "$l.$k"; : > "$l.$k.cpu"; done; done
for _ in $(seq "$ROUNDS"); do
  for l in "${labels[@]}"; do
    for k in "${kinds[@]}"; do
      args=(-s -o /dev/null -w "$fmt" --cacert "$work/ca.pem")
      [ "$k" = direct-https ] && args+=(--resolve "bulk.test:$tport:127.0.0.2")
      { time "${bins[$l]}" run "$work/${profile[$k]}.toml" -- curl "${args[@]}" "${url[$k]}" \
          >> "$l.$k" 2>/dev/null; } 2>> "$l.$k.cpu"
    done
  done
done
want=$((SIZE_MIB * 1024 * 1024))
for l in "${labels[@]}"; do
  for k in "${kinds[@]}"; do
    if awk -v w="$want" '$3 != w {bad=1} END {exit !(bad || NR == 0)}' "$l.$k"; then
      echo "bench/net.sh: $l $k: a download was incomplete:" >&2; cat "$l.$k" >&2; exit 1
    fi
    ttfb=$(awk '{print $1 * 1000}' "$l.$k" | median)
    mibs=$(awk '{print $2 / 1048576}' "$l.$k" | median)
    cpu=$(awk '{print ($1 + $2) * 1000}' "$l.$k.cpu" | median)
    printf '%-4s %-12s %3d MiB: first byte %7.2f ms, throughput %8.1f MiB/s, CPU %7.1f ms per download (median of %d)\n' \
      "$l" "$k" "$SIZE_MIB" "$ttfb" "$mibs" "$cpu" "$ROUNDS"
  done
done

now() { date +%s%N; }
for l in "${labels[@]}"; do : > "l-$l-none"; : > "l-$l-proxy"; done
for _ in $(seq "$LAUNCHES"); do
  for l in "${labels[@]}"; do
    for m in none proxy; do
      t0=$(now); "${bins[$l]}" run "$work/$m.toml" -- /bin/true 2>/dev/null; t1=$(now)
      echo $(( (t1 - t0) / 1000 )) >> "l-$l-$m"
    done
  done
done
for l in "${labels[@]}"; do
  for m in none proxy; do
    printf '%-4s launch mode=%-5s %8.2f ms (median of %d, %s)\n' "$l" "$m" \
      "$(awk '{print $1 / 1000}' "l-$l-$m" | median)" "$LAUNCHES" "${bins[$l]}"
  done
done
cd "$repo"
