# A tiny HTTPS (or plain HTTP) server for tests/net_proxy.rs: serves `BODY` at every path.
# usage: https_server.py ADDR PORT BODY [CERT KEY]
import http.server, ssl, sys

addr, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer((addr, port), H)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
