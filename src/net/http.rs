//! HTTP proxy requests: `CONNECT host:port` and absolute-form plain-HTTP forwards
//! (`GET http://host/path`).
//!
//! Rules (each a refusal, not a repair):
//! - the head is at most [`MAX_HEAD`] bytes, CRLF or LF line ends, no obs-fold;
//! - CONNECT's target is `host:port` (port required); a forward's target is
//!   `http://host[:port]/...` without userinfo (`https://` targets are refused: TLS goes
//!   through CONNECT, end to end);
//! - `Host` is required for forwards, at most once, and must name the target's host and
//!   port (a `Host` on CONNECT must too): otherwise the upstream server could be told a
//!   different virtual host than the one the allow list checked;
//! - request bodies must use `Content-Length`; `Transfer-Encoding` is refused, so the proxy
//!   always knows where a request ends and checks the next one on its own.
//!
//! The proxy sends each forward upstream with `Connection: close` on a fresh connection,
//! so every request on a kept-alive client connection is parsed and checked here again.
//! The client connection is kept after a response only when the response's head says where
//! it ends ([`parse_response_head`]); a response that ends at the upstream's close ends the
//! client connection too.

use std::fmt;

/// Largest request head accepted.
pub const MAX_HEAD: usize = 32 * 1024;
const MAX_HEADERS: usize = 128;

/// A parsed proxy request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Connect {
        host: String,
        port: u16,
    },
    Forward {
        method: String,
        host: String,
        port: u16,
        /// Origin-form target (`/path?query`) sent upstream.
        path: String,
        /// Headers to send upstream (hop-by-hop and proxy headers removed).
        headers: Vec<(String, String)>,
        /// Request body length.
        body_len: u64,
    },
}

impl Request {
    pub fn host(&self) -> &str {
        match self {
            Request::Connect { host, .. } | Request::Forward { host, .. } => host,
        }
    }
    pub fn port(&self) -> u16 {
        match self {
            Request::Connect { port, .. } | Request::Forward { port, .. } => *port,
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    TooLarge,
    Malformed(&'static str),
    /// Valid HTTP that this proxy does not do (status 501).
    Unsupported(&'static str),
    /// `Host` names something other than the request target.
    HostMismatch {
        target: String,
        host: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::TooLarge => write!(f, "request head larger than {MAX_HEAD} bytes"),
            HttpError::Malformed(w) => write!(f, "malformed request: {w}"),
            HttpError::Unsupported(w) => write!(f, "unsupported request: {w}"),
            HttpError::HostMismatch { target, host } => {
                write!(
                    f,
                    "Host `{host}` does not match the request target `{target}`"
                )
            }
        }
    }
}

impl HttpError {
    /// The status line sent back to the client.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            HttpError::TooLarge => (431, "Request Header Fields Too Large"),
            HttpError::Unsupported(_) => (501, "Not Implemented"),
            _ => (400, "Bad Request"),
        }
    }
}

/// Find the end of the head; `Ok(None)`: need more bytes.
fn head_end(buf: &[u8]) -> Result<Option<usize>, HttpError> {
    let limit = buf.len().min(MAX_HEAD);
    let mut i = 0;
    while i < limit {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Ok(Some(i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Ok(Some(i + 3));
            }
        }
        i += 1;
    }
    if buf.len() >= MAX_HEAD {
        Err(HttpError::TooLarge)
    } else {
        Ok(None)
    }
}

/// Parse one request head from the start of `buf`. `Ok(None)`: incomplete; else the
/// request and the length of its head.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, HttpError> {
    let Some(end) = head_end(buf)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| HttpError::Malformed("not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed("request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'-') {
        return Err(HttpError::Malformed("method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HttpError::Unsupported("HTTP version"));
    }
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        if l.starts_with(' ') || l.starts_with('\t') {
            return Err(HttpError::Malformed("folded header line"));
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(HttpError::Malformed("header line without `:`"));
        };
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(HttpError::Malformed("header name"));
        }
        if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return Err(HttpError::Malformed("control character in a header value"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
        if headers.len() > MAX_HEADERS {
            return Err(HttpError::TooLarge);
        }
    }
    let host_headers: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str())
        .collect();
    if host_headers.len() > 1 {
        return Err(HttpError::Malformed("more than one Host header"));
    }
    let host_header = host_headers.first().copied();
    if method == "CONNECT" {
        let (host, port) = split_authority(target, None)?;
        if let Some(h) = host_header {
            check_host(target, &host, port, h, port)?;
        }
        return Ok(Some((Request::Connect { host, port }, end)));
    }
    let lower = target.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        return Err(HttpError::Unsupported(
            "https:// through a forward request (use CONNECT)",
        ));
    } else {
        return Err(HttpError::Malformed(
            "a proxy request needs an absolute `http://` target",
        ));
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(HttpError::Malformed("userinfo in the request target"));
    }
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let (host, port) = split_authority(authority, Some(80))?;
    let Some(h) = host_header else {
        return Err(HttpError::Malformed("no Host header"));
    };
    check_host(authority, &host, port, h, 80)?;
    let mut body_len = 0;
    let mut seen_len: Option<u64> = None;
    let mut upstream = Vec::new();
    for (n, v) in headers {
        let lname = n.to_ascii_lowercase();
        match lname.as_str() {
            "transfer-encoding" => {
                return Err(HttpError::Unsupported(
                    "Transfer-Encoding in a request (send Content-Length)",
                ))
            }
            "content-length" => {
                if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HttpError::Malformed("Content-Length"));
                }
                let len: u64 = v
                    .parse()
                    .map_err(|_| HttpError::Malformed("Content-Length"))?;
                match seen_len {
                    Some(s) if s != len => {
                        return Err(HttpError::Malformed("conflicting Content-Length"))
                    }
                    Some(_) => {}
                    None => upstream.push(("Content-Length".to_string(), len.to_string())),
                }
                seen_len = Some(len);
                body_len = len;
            }
            // Hop-by-hop and proxy-only headers stop here; the proxy decides framing.
            "connection"
            | "proxy-connection"
            | "keep-alive"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "upgrade" => {}
            _ => upstream.push((n, v)),
        }
    }
    upstream.push(("Connection".into(), "close".into()));
    Ok(Some((
        Request::Forward {
            method: method.to_string(),
            host,
            port,
            path,
            headers: upstream,
            body_len,
        },
        end,
    )))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `host:port` or `[v6]:port`; `default` is the port when none is given (`None`: the port
/// is required).
pub fn split_authority(a: &str, default: Option<u16>) -> Result<(String, u16), HttpError> {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(HttpError::Malformed("unclosed `[` in the target"));
        };
        let host = &a[..close + 2];
        match &rest[close + 1..] {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(HttpError::Malformed("target")),
            },
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err(HttpError::Malformed("empty host in the target"));
    }
    let port = match (port, default) {
        (Some(p), _) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::Malformed("port"));
            }
            match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(HttpError::Malformed("port")),
            }
        }
        (None, Some(d)) => d,
        (None, None) => return Err(HttpError::Malformed("CONNECT needs host:port")),
    };
    Ok((host.to_string(), port))
}

fn same_name(a: &str, b: &str) -> bool {
    a.strip_suffix('.')
        .unwrap_or(a)
        .eq_ignore_ascii_case(b.strip_suffix('.').unwrap_or(b))
}

fn check_host(
    target: &str,
    host: &str,
    port: u16,
    header: &str,
    default: u16,
) -> Result<(), HttpError> {
    let mismatch = || HttpError::HostMismatch {
        target: target.to_string(),
        host: header.to_string(),
    };
    let (h, p) = split_authority(header, Some(default)).map_err(|_| mismatch())?;
    if same_name(&h, host) && p == port {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// The head sent upstream for a forward request.
pub fn upstream_head(method: &str, path: &str, headers: &[(String, String)]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for (n, v) in headers {
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Where an upstream response's body ends, as its head says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// Exactly this many bytes after the head.
    Length(u64),
    /// `Transfer-Encoding: ..., chunked`: the client finds the end.
    Chunked,
    /// Only the upstream's close ends it (no length, an interim 1xx, or framing the proxy
    /// does not trust): the client connection must be closed after it.
    UntilClose,
}

/// Parse an upstream response head (the upstream was sent `Connection: close`); `Ok(None)`:
/// incomplete; else the head's length and where the body ends. `head_request`: the request
/// was HEAD (no body whatever the headers say).
pub fn parse_response_head(
    buf: &[u8],
    head_request: bool,
) -> Result<Option<(usize, ResponseBody)>, HttpError> {
    let Some(end) = head_end(buf)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(HttpError::Malformed("status line"));
    };
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(HttpError::Malformed("status line"));
    }
    let code: u16 = code
        .parse()
        .map_err(|_| HttpError::Malformed("status line"))?;
    if code < 200 {
        return Ok(Some((end, ResponseBody::UntilClose)));
    }
    if head_request || code == 204 || code == 304 {
        return Ok(Some((end, ResponseBody::Length(0))));
    }
    let mut length: Option<u64> = None;
    let mut te: Option<String> = None;
    for l in lines {
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            te = Some(value.to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case("content-length") {
            let ok =
                !value.is_empty() && value.len() <= 19 && value.bytes().all(|b| b.is_ascii_digit());
            match (ok.then(|| value.parse::<u64>().ok()).flatten(), length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return Ok(Some((end, ResponseBody::UntilClose))),
            }
        }
    }
    let body = match (te, length) {
        (Some(t), _) if t.rsplit(',').next().map(str::trim) == Some("chunked") => {
            ResponseBody::Chunked
        }
        (Some(_), _) => ResponseBody::UntilClose,
        (None, Some(n)) => ResponseBody::Length(n),
        (None, None) => ResponseBody::UntilClose,
    };
    Ok(Some((end, body)))
}

/// A complete short response from the proxy itself (errors, CONNECT's 200).
pub fn response(status: u16, reason: &str, body: &str) -> Vec<u8> {
    if status == 200 && body.is_empty() {
        return b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
    }
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nX-Stockade-Proxy: denied\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<(Request, usize)>, HttpError> {
        parse_request(s.as_bytes())
    }

    #[test]
    fn connect() {
        let s = "CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n\r\nTLS";
        let (r, n) = parse(s).unwrap().unwrap();
        assert_eq!(
            r,
            Request::Connect {
                host: "registry.test".into(),
                port: 443
            }
        );
        assert_eq!(&s[n..], "TLS");
        assert!(parse("CONNECT a.test:443 HTTP/1.1\r\n").unwrap().is_none());
        assert!(matches!(
            parse("CONNECT a.test HTTP/1.1\r\n\r\n"),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse("CONNECT a.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n"),
            Err(HttpError::HostMismatch { .. })
        ));
        let (r, _) = parse("CONNECT [::1]:443 HTTP/1.1\n\n").unwrap().unwrap();
        assert_eq!(r.host(), "[::1]");
        assert!(parse("CONNECT a.test:0 HTTP/1.1\r\n\r\n").is_err());
        assert!(parse("CONNECT a.test:99999 HTTP/1.1\r\n\r\n").is_err());
    }

    #[test]
    fn forward() {
        let s = "GET http://plain.test/x?y=1 HTTP/1.1\r\nHost: plain.test\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n";
        let (r, n) = parse(s).unwrap().unwrap();
        assert_eq!(n, s.len());
        let Request::Forward {
            method,
            host,
            port,
            path,
            headers,
            body_len,
        } = r
        else {
            panic!()
        };
        assert_eq!(
            (
                method.as_str(),
                host.as_str(),
                port,
                path.as_str(),
                body_len
            ),
            ("GET", "plain.test", 80, "/x?y=1", 0)
        );
        let head = String::from_utf8(upstream_head(&method, &path, &headers)).unwrap();
        assert_eq!(
            head,
            "GET /x?y=1 HTTP/1.1\r\nHost: plain.test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let (r, _) = parse(
            "POST http://a.test:8080 HTTP/1.1\r\nHost: A.TEST:8080\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(r, Request::Forward { port: 8080, body_len: 5, ref path, .. } if path == "/")
        );
    }

    #[test]
    fn forward_refusals() {
        for (s, what) in [
            ("GET http://a.test/ HTTP/1.1\r\n\r\n", "no host"),
            ("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", "mismatch"),
            ("GET http://a.test/ HTTP/1.1\r\nHost: a.test:81\r\n\r\n", "port mismatch"),
            ("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n", "two hosts"),
            ("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n", "origin form"),
            ("GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "https"),
            ("GET http://u@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "userinfo"),
            ("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n", "te"),
            ("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "cl"),
            ("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n folded\r\n\r\n", "fold"),
            ("GET http://a.test/ HTTP/2\r\nHost: a.test\r\n\r\n", "version"),
            ("get http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "method"),
            ("GET  http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", "spaces"),
        ] {
            assert!(parse(s).is_err(), "{what}");
        }
        let big = format!(
            "GET http://a.test/ HTTP/1.1\r\nX: {}\r\n",
            "a".repeat(MAX_HEAD)
        );
        assert_eq!(parse(&big), Err(HttpError::TooLarge));
    }

    /// The body's bound: a request ends after its head plus exactly `Content-Length` bytes,
    /// so what follows on a kept-alive connection is the next request (checked on its own),
    /// and every framing that could make the proxy and the upstream disagree is refused.
    #[test]
    fn body_framing() {
        let s = "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n12345GET http://evil.test/ HTTP/1.1\r\n";
        let (r, n) = parse(s).unwrap().unwrap();
        assert!(matches!(r, Request::Forward { body_len: 5, .. }));
        assert_eq!(&s[n..n + 5], "12345");
        assert!(s[n + 5..].starts_with("GET http://evil.test/"));
        // No Content-Length: no body, the next bytes are the next request.
        let s = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\nGET http://evil.test/";
        let (r, n) = parse(s).unwrap().unwrap();
        assert!(matches!(r, Request::Forward { body_len: 0, .. }));
        assert!(s[n..].starts_with("GET http://evil.test/"));
        // The same length twice is one length.
        let (r, _) = parse("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n").unwrap().unwrap();
        let Request::Forward {
            body_len, headers, ..
        } = r
        else {
            panic!()
        };
        assert_eq!(body_len, 3);
        let lens = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .count();
        assert_eq!(lens, 1, "one Content-Length upstream");
        for (cl, what) in [
            ("+5", "sign"),
            ("-1", "negative"),
            ("5, 5", "list"),
            ("0x5", "hex"),
            ("5 5", "two numbers"),
            ("99999999999999999999", "too long"),
            ("", "empty"),
        ] {
            let s = format!(
                "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: {cl}\r\n\r\n"
            );
            assert_eq!(
                parse(&s),
                Err(HttpError::Malformed("Content-Length")),
                "{what}"
            );
        }
        // Chunked (or any Transfer-Encoding), alone or next to a Content-Length: 501.
        for te in [
            "Transfer-Encoding: chunked\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "transfer-encoding: identity\r\n",
        ] {
            let s = format!("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\n{te}\r\n");
            let e = parse(&s).unwrap_err();
            assert!(matches!(e, HttpError::Unsupported(_)), "{te}");
            assert_eq!(e.status().0, 501);
        }
    }

    #[test]
    fn response_framing() {
        let p = |s: &str, head: bool| parse_response_head(s.as_bytes(), head).unwrap();
        let s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(p(s, false), Some((s.len() - 5, ResponseBody::Length(5))));
        assert_eq!(p(s, true), Some((s.len() - 5, ResponseBody::Length(0))));
        assert_eq!(p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", false), None);
        let until = |s: &str| p(s, false).map(|(_, b)| b);
        assert_eq!(
            until(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n"
            ),
            Some(ResponseBody::Chunked)
        );
        for s in [
            "HTTP/1.1 200 OK\r\n\r\nuntil close",
            "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            assert_eq!(until(s), Some(ResponseBody::UntilClose), "{s}");
        }
        assert_eq!(
            until("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"),
            Some(ResponseBody::Length(0))
        );
        assert!(parse_response_head(b"SSH-2.0-x\r\n\r\n", false).is_err());
    }
}
