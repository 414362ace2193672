#!/bin/bash
# Run inside a `network.mode = "proxy"` sandbox by tests/net_proxy.rs; prints one
# `check: result` line per case. $1 = the CA file, $2 = the https port, $3 = the http port,
# $4 = a port of a service on the host's 127.0.0.1.
ca=$1 tls=$2 plain=$3 hostsvc=$4
try() { local name=$1; shift; out=$("$@" 2>/dev/null); echo "$name: rc=$? out=${out//$'\n'/|}"; }
try allowed curl -sf --max-time 10 --cacert "$ca" "https://registry.test:$tls/"
try denied-host curl -sf --max-time 10 --cacert "$ca" "https://evil.test:$tls/"
try ip-literal curl -sf --max-time 10 -k "https://127.0.0.2:$tls/"
try wrong-port curl -sf --max-time 10 --cacert "$ca" "https://registry.test:$((tls + 5))/"
try plain-allowed curl -sf --max-time 10 "http://plain.test:$plain/"
try plain-wrong-port curl -sf --max-time 10 "http://plain.test:$((plain + 5))/"
try rebind curl -sf --max-time 10 "http://rebind.test:$plain/"
try socks-allowed curl -sf --max-time 10 --cacert "$ca" -x "socks5h://127.0.0.1:1080" "https://registry.test:$tls/"
try socks-denied curl -sf --max-time 10 --cacert "$ca" -x "socks5h://127.0.0.1:1080" "https://evil.test:$tls/"
try sni-mismatch sh -c "echo | openssl s_client -proxy 127.0.0.1:3128 -connect registry.test:$tls -servername evil.test -CAfile $ca"
try no-sni sh -c "echo | openssl s_client -proxy 127.0.0.1:3128 -connect registry.test:$tls -noservername -CAfile $ca"
try keepalive bash -c "exec 3<>/dev/tcp/127.0.0.1/3128; printf 'GET http://plain.test:$plain/ HTTP/1.1\r\nHost: plain.test:$plain\r\n\r\nGET http://evil.test:$plain/ HTTP/1.1\r\nHost: evil.test:$plain\r\n\r\n' >&3; timeout 10 cat <&3"
# A POST whose Content-Length body looks like a request, then a request to a denied host on
# the same connection: the body goes to plain.test whole and alone (its server answers with
# the length it read and what came after it), the second request is checked and refused.
keepalive_body() {
  local body req
  printf -v body 'GET http://body.test:%s/ HTTP/1.1\r\nHost: body.test:%s\r\n\r\n' "$plain" "$plain"
  printf -v req 'POST http://plain.test:%s/ HTTP/1.1\r\nHost: plain.test:%s\r\nContent-Length: %d\r\n\r\n%sGET http://after-post.test:%s/ HTTP/1.1\r\nHost: after-post.test:%s\r\n\r\n' \
    "$plain" "$plain" "${#body}" "$body" "$plain" "$plain"
  exec 3<>/dev/tcp/127.0.0.1/3128
  printf '%s' "$req" >&3
  timeout 10 cat <&3
}
try keepalive-body keepalive_body
# A POST whose body ends (the client shuts down writing) before its Content-Length: the
# upstream is told and its answer still reaches the client, then the connection ends.
try body-cut-short python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', 3128))
s.sendall(b'POST http://plain.test:$plain/ HTTP/1.1\r\nHost: plain.test:$plain\r\nContent-Length: 100\r\n\r\n0123456789')
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
out = b''
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
"
# A response without a length ends at the upstream's close: the proxy must close the client
# connection after it (else the client waits for an EOF that never comes).
try unframed bash -c "exec 3<>/dev/tcp/127.0.0.1/3128; printf 'GET http://plain.test:$plain/unframed HTTP/1.1\r\nHost: plain.test:$plain\r\n\r\n' >&3; timeout 10 cat <&3"
try raw-tcp bash -c "echo x > /dev/tcp/127.0.0.2/$plain"
try host-loopback bash -c "echo x > /dev/tcp/127.0.0.1/$hostsvc"
try udp bash -c "echo x > /dev/udp/198.51.100.1/53"
try dns-allowed python3 dns_query.py registry.test
try dns-denied python3 dns_query.py evil.test
