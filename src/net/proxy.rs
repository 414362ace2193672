//! The proxy process: accepts on the listeners the sandbox created on its own loopback
//! (see [`super::listeners`]) and dials from the host, after the policy core allowed it.
//!
//! It is forked from the supervisor before the sandbox is cloned, so the supervisor's loop
//! stays single-threaded and every other network mode's launch path is unchanged. Its
//! lifetime is tied to the supervisor: PR_SET_PDEATHSIG(SIGKILL), and EOF on the stop pipe
//! (the supervisor closes it when the payload is gone) makes it finish the open
//! connections' records and exit. Every decision is one JSON line in a memfd the supervisor
//! reads into the run report (and, with `--net-log`, in that file too).

use super::decision::{Decision, Verdict};
use super::pattern::{normalize_name, AllowList, Match};
use super::relay::{self, Pump};
use super::resolve::Resolver;
use super::{dns, http, socks, tls};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);

/// What the proxy shares between its threads.
pub struct Shared {
    pub allow: AllowList,
    pub resolver: Resolver,
    pub records: Mutex<std::fs::File>,
    pub net_log: Option<Mutex<std::fs::File>>,
    pub started: Instant,
    pub open: AtomicUsize,
    /// `stockade learn`: a name the list does not allow is let through (still never an IP
    /// literal or a private address), recorded with the reason [`LEARNING`].
    pub learning: bool,
}

/// The reason recorded for a connection let through only because learn is watching.
pub const LEARNING: &str = "learning: not in network.allow";

impl Shared {
    fn record(&self, mut d: Decision) {
        d.at_ms = self.started.elapsed().as_millis() as u64;
        if d.verdict == Verdict::Denied {
            eprintln!("{}", d.denial_line());
        }
        let Ok(mut line) = serde_json::to_vec(&d) else {
            return;
        };
        line.push(b'\n');
        if let Ok(mut f) = self.records.lock() {
            let _ = f.write_all(&line);
        }
        if let Some(l) = &self.net_log {
            if let Ok(mut f) = l.lock() {
                let _ = f.write_all(&line);
            }
        }
    }
}

fn decision(protocol: &'static str, host: &str, port: u16) -> Decision {
    Decision {
        verdict: Verdict::Denied,
        protocol,
        host: host.to_string(),
        port,
        reason: String::new(),
        address: None,
        bytes_out: 0,
        bytes_in: 0,
        at_ms: 0,
    }
}

/// The allow-list check; Ok: the normalized name and the matching entry.
fn check(sh: &Shared, host: &str, port: u16) -> Result<(String, String), String> {
    match sh.allow.check(host, port) {
        Match::Allowed(i) => Ok((
            normalize_name(host).unwrap_or_default(),
            format!("network.allow: {}", sh.allow.entries[i]),
        )),
        Match::Invalid(e) => Err(format!("{e}")),
        Match::WrongPort(_) | Match::NotListed if sh.learning => {
            Ok((normalize_name(host).unwrap_or_default(), LEARNING.into()))
        }
        Match::WrongPort(p) => Err(format!("port {port} not allowed (allowed: {p:?})")),
        Match::NotListed => Err("not in network.allow".into()),
    }
}

fn dial(sh: &Shared, name: &str, port: u16) -> Result<(TcpStream, SocketAddr), String> {
    let addrs = sh.resolver.resolve(name, port)?;
    let mut last = String::new();
    for a in addrs {
        match TcpStream::connect_timeout(&a, DIAL_TIMEOUT) {
            Ok(s) => return Ok((s, a)),
            Err(e) => last = format!("connect {a}: {e}"),
        }
    }
    Err(last)
}

/// Read from `s` into `buf` until `done(buf)` is decided or EOF/timeout.
fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16384];
    match s.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// After a tunnel is open: the ClientHello's SNI must equal the requested host.
fn check_sni(client: &mut TcpStream, host: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    let _ = client.set_read_timeout(Some(HELLO_TIMEOUT));
    loop {
        match tls::client_hello(buf) {
            tls::Hello::Incomplete => {
                if !read_more(client, buf) {
                    return Err("connection closed before a TLS ClientHello".into());
                }
            }
            tls::Hello::Sni(n) => {
                let _ = client.set_read_timeout(None);
                return match normalize_name(&n) {
                    Ok(n) if n == host => Ok(()),
                    _ => Err(format!(
                        "TLS server name `{n}` is not the requested host `{host}`"
                    )),
                };
            }
            tls::Hello::NoSni => return Err("TLS ClientHello without a server name".into()),
            tls::Hello::NotTls => {
                return Err("not TLS: a tunnel must carry TLS to the requested host".into())
            }
            tls::Hello::Malformed(w) => return Err(format!("bad TLS ClientHello: {w}")),
        }
    }
}

/// An open tunnel after CONNECT (HTTP or SOCKS): check SNI, then relay (the peeked bytes
/// first). `buf` holds what the client already sent after its request (a pipelined
/// ClientHello).
fn tunnel(
    sh: &Shared,
    mut client: TcpStream,
    upstream: TcpStream,
    mut d: Decision,
    name: &str,
    mut buf: Vec<u8>,
) {
    if let Err(why) = check_sni(&mut client, name, &mut buf) {
        d.verdict = Verdict::Denied;
        d.reason = why;
        sh.record(d);
        return;
    }
    let c = relay::relay(&client, &upstream, &buf);
    d.bytes_out = c.out;
    d.bytes_in = c.inb;
    sh.record(d);
}

fn deny_http(sh: &Shared, client: &mut TcpStream, mut d: Decision, status: u16, why: String) {
    let body = format!(
        "stockade: {} {}:{} denied: {why}\n",
        d.protocol, d.host, d.port
    );
    let _ = client.write_all(&http::response(status, "Forbidden", &body));
    d.reason = why;
    sh.record(d);
}

/// Relay one response of an upstream that closes after it: its head read here (to learn
/// where the body ends), the rest spliced. Returns the bytes given to the client and
/// whether the client connection may carry another request: only when the response is
/// self-delimiting and was relayed whole.
fn relay_response(pump: &mut Pump, up: &TcpStream, client: &TcpStream, head: bool) -> (u64, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let framing = loop {
        match http::parse_response_head(&buf, head) {
            Ok(Some(f)) => break Some(f),
            Ok(None) => {}
            Err(_) => break None,
        }
        match (&mut &*up).read(&mut chunk) {
            Ok(0) => break None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break None,
        }
    };
    if (&mut &*client).write_all(&buf).is_err() {
        return (0, false);
    }
    let (n, end) = pump.copy(up, client, None);
    let total = buf.len() as u64 + n;
    let keep = end.is_ok()
        && match framing {
            Some((h, http::ResponseBody::Length(len))) => total == h as u64 + len,
            Some((_, http::ResponseBody::Chunked)) => true,
            _ => false,
        };
    (total, keep)
}

fn serve_http(sh: &Shared, mut client: TcpStream) {
    let mut buf = Vec::new();
    let mut pumps: Option<(Pump, Pump)> = None;
    loop {
        let parsed = loop {
            match http::parse_request(&buf) {
                Ok(None) => {
                    if !read_more(&mut client, &mut buf) {
                        return;
                    }
                }
                other => break other,
            }
        };
        let (req, head_len) = match parsed {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                let (code, reason) = e.status();
                let _ = client.write_all(&http::response(code, reason, &format!("{e}\n")));
                let mut d = decision("http", "", 0);
                if let http::HttpError::HostMismatch { target, .. } = &e {
                    d.host = target.clone();
                }
                d.reason = e.to_string();
                sh.record(d);
                return;
            }
        };
        buf.drain(..head_len);
        let protocol = match req {
            http::Request::Connect { .. } => "http-connect",
            _ => "http",
        };
        let mut d = decision(protocol, req.host(), req.port());
        let (name, entry) = match check(sh, req.host(), req.port()) {
            Ok(x) => x,
            Err(why) => return deny_http(sh, &mut client, d, 403, why),
        };
        let (upstream, addr) = match dial(sh, &name, req.port()) {
            Ok(x) => x,
            Err(why) => return deny_http(sh, &mut client, d, 502, why),
        };
        d.verdict = Verdict::Allowed;
        d.reason = entry;
        d.address = Some(addr.to_string());
        match req {
            http::Request::Connect { .. } => {
                if client.write_all(&http::response(200, "", "")).is_err() {
                    return;
                }
                return tunnel(sh, client, upstream, d, &name, std::mem::take(&mut buf));
            }
            http::Request::Forward {
                method,
                path,
                headers,
                body_len,
                ..
            } => {
                let up = upstream;
                let head = http::upstream_head(&method, &path, &headers);
                if (&up).write_all(&head).is_err() {
                    d.reason = format!("{}; the upstream closed before the request", d.reason);
                    sh.record(d);
                    return;
                }
                // Pipes (or the fallback buffer) made once per client connection.
                let (p_out, p_in) = pumps.get_or_insert_with(|| (Pump::new(), Pump::new()));
                // The body: exactly `body_len` bytes, so what follows it on this connection
                // is parsed (and checked) as the next request, never sent as body.
                let (body, sent) = relay::forward_body(p_out, &mut buf, &client, &up, body_len);
                d.bytes_out = head.len() as u64 + body;
                if sent.is_err() {
                    d.reason = format!(
                        "{}; the request body was cut short ({body} of {body_len} bytes)",
                        d.reason
                    );
                    // The upstream is told the body ended, so it answers (or closes).
                    let _ = up.shutdown(std::net::Shutdown::Write);
                }
                // Connection: close upstream, so the response ends at EOF.
                let (inb, keep) = relay_response(p_in, &up, &client, method == "HEAD");
                d.bytes_in = inb;
                sh.record(d);
                if sent.is_err() || !keep {
                    // Where this connection's next request starts is unknown (a body cut
                    // short), the client cannot tell where this response ended but by EOF,
                    // or the relay failed: end the connection.
                    return;
                }
                // Loop: the next request on this client connection is checked afresh.
            }
        }
    }
}

fn serve_socks(sh: &Shared, mut client: TcpStream) {
    let mut buf = Vec::new();
    let glen = loop {
        match socks::parse_greeting(&buf) {
            Ok(None) => {
                if !read_more(&mut client, &mut buf) {
                    return;
                }
            }
            Ok(Some(((), n))) => break n,
            Err(e) => {
                let _ = client.write_all(&socks::greeting_reply(false));
                let mut d = decision("socks5", "", 0);
                d.reason = e.to_string();
                sh.record(d);
                return;
            }
        }
    };
    buf.drain(..glen);
    if client.write_all(&socks::greeting_reply(true)).is_err() {
        return;
    }
    let (req, n) = loop {
        match socks::parse_request(&buf) {
            Ok(None) => {
                if !read_more(&mut client, &mut buf) {
                    return;
                }
            }
            Ok(Some(r)) => break r,
            Err(e) => {
                let _ = client.write_all(&socks::request_reply(e.reply_code()));
                let mut d = decision("socks5", "", 0);
                d.reason = e.to_string();
                sh.record(d);
                return;
            }
        }
    };
    buf.drain(..n);
    let mut d = decision("socks5", &req.host, req.port);
    let (name, entry) = match check(sh, &req.host, req.port) {
        Ok(x) => x,
        Err(why) => {
            let _ = client.write_all(&socks::request_reply(socks::reply::NOT_ALLOWED));
            d.reason = why;
            sh.record(d);
            return;
        }
    };
    let (upstream, addr) = match dial(sh, &name, req.port) {
        Ok(x) => x,
        Err(why) => {
            let _ = client.write_all(&socks::request_reply(socks::reply::HOST_UNREACHABLE));
            d.reason = why;
            sh.record(d);
            return;
        }
    };
    if client
        .write_all(&socks::request_reply(socks::reply::SUCCEEDED))
        .is_err()
    {
        return;
    }
    d.verdict = Verdict::Allowed;
    d.reason = entry;
    d.address = Some(addr.to_string());
    let _ = buf; // a client sends nothing before the reply
    tunnel(sh, client, upstream, d, &name, Vec::new());
}

/// Answer one DNS query.
fn dns_answer(sh: &Shared, msg: &[u8]) -> Option<Vec<u8>> {
    let q = match dns::parse_query(msg) {
        Ok(q) => q,
        Err(e) => return dns::error_reply(&e),
    };
    if !sh.allow.allows_name(&q.name) && !sh.learning {
        let mut d = decision("dns", &q.name, 53);
        d.reason = "not in network.allow".into();
        sh.record(d);
        return Some(dns::answer(&q, dns::rcode::REFUSED, &[], 0));
    }
    let ips: Vec<std::net::IpAddr> = match sh.resolver.resolve(&q.name, 0) {
        Ok(a) => a.into_iter().map(|s| s.ip()).collect(),
        Err(_) => return Some(dns::answer(&q, dns::rcode::SERVFAIL, &[], 0)),
    };
    Some(dns::answer(&q, dns::rcode::NOERROR, &ips, 30))
}

fn serve_dns_tcp(sh: &Shared, mut client: TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut len = [0u8; 2];
        if client.read_exact(&mut len).is_err() {
            return;
        }
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        if client.read_exact(&mut msg).is_err() {
            return;
        }
        let Some(a) = dns_answer(sh, &msg) else {
            return;
        };
        let mut out = (a.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&a);
        if client.write_all(&out).is_err() {
            return;
        }
    }
}

fn accept_loop(sh: Arc<Shared>, l: TcpListener, serve: fn(&Shared, TcpStream)) {
    std::thread::spawn(move || loop {
        let Ok((c, _)) = l.accept() else {
            continue;
        };
        let sh = sh.clone();
        sh.open.fetch_add(1, Ordering::SeqCst);
        let counted = sh.clone();
        // A payload that opens connections until threads run out gets them refused
        // (closed), not a panic of the proxy.
        if std::thread::Builder::new()
            .spawn(move || {
                serve(&sh, c);
                sh.open.fetch_sub(1, Ordering::SeqCst);
            })
            .is_err()
        {
            counted.open.fetch_sub(1, Ordering::SeqCst);
        }
    });
}

/// The proxy process's main: serve until `stop` reports EOF, then let open connections
/// finish their records (briefly) and return.
pub fn serve(sh: Shared, listeners: [OwnedFd; super::listeners::COUNT], stop: OwnedFd) {
    let sh = Arc::new(sh);
    let [http_l, socks_l, dns_u, dns_t] = listeners;
    accept_loop(sh.clone(), TcpListener::from(http_l), serve_http);
    accept_loop(sh.clone(), TcpListener::from(socks_l), serve_socks);
    accept_loop(sh.clone(), TcpListener::from(dns_t), serve_dns_tcp);
    let udp = UdpSocket::from(dns_u);
    let shu = sh.clone();
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut b) else {
                continue;
            };
            if let Some(a) = dns_answer(&shu, &b[..n]) {
                let _ = udp.send_to(&a, peer);
            }
        }
    });
    let mut f = std::fs::File::from(stop);
    let mut b = [0u8; 1];
    while matches!(f.read(&mut b), Ok(n) if n > 0) {}
    // The payload is gone: its sockets are closed, so open relays end at once; wait a
    // little for their records.
    let until = Instant::now() + Duration::from_secs(2);
    while sh.open.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}
