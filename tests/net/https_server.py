# A tiny HTTPS (or plain HTTP) server for tests/net_proxy.rs: serves `BODY` at every path.
# usage: https_server.py ADDR PORT BODY [CERT KEY]
# BODY `@DIR` serves the files of DIR instead (bench/net.sh). A POST is answered with
# `BODY-post len=N extra=M`: N the body bytes read by its Content-Length, M the bytes that
# arrived after them within 0.3 s (a proxy must send none: the request said
# `Connection: close`). GET /unframed answers `BODY-unframed` without a length: the body
# ends when the server closes.
import http.server, os, shutil, ssl, sys

addr, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"
root = sys.argv[3][1:] if sys.argv[3].startswith("@") else None

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if root is not None:
            path = os.path.join(root, os.path.basename(self.path.split("?")[0]))
            try:
                f = open(path, "rb")
            except OSError:
                self.send_error(404)
                return
            with f:
                self.send_response(200)
                self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
                self.end_headers()
                shutil.copyfileobj(f, self.wfile, 1024 * 1024)
            return
        if self.path.endswith("/unframed"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body.rstrip(b"\n") + b"-unframed\n")
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = self.rfile.read(n)
        self.connection.settimeout(0.3)
        try:
            extra = len(self.rfile.read1(65536))
        except OSError:
            extra = 0
        self.connection.settimeout(None)
        out = body.rstrip(b"\n") + b"-post len=%d extra=%d\n" % (len(got), extra)
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer((addr, port), H)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
