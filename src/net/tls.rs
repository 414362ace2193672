//! The server name (SNI) of a TLS ClientHello, read from the bytes the client sent after
//! CONNECT. Nothing is decrypted or changed: the bytes are forwarded as they came once the
//! name is checked. The ClientHello may be split over several records; it is reassembled up
//! to [`MAX_HELLO`] bytes.

/// Largest ClientHello accepted (post-quantum key shares make them ~2 KiB today).
pub const MAX_HELLO: usize = 64 * 1024;

const CONTENT_HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const EXT_SERVER_NAME: u16 = 0;
const NAME_HOST: u8 = 0;

/// What the first client bytes of a tunnel are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hello {
    /// More bytes are needed.
    Incomplete,
    /// A ClientHello naming this host (as sent, not normalized).
    Sni(String),
    /// A ClientHello without a server_name extension.
    NoSni,
    /// Not a TLS handshake at all.
    NotTls,
    /// A TLS record or ClientHello that does not parse.
    Malformed(&'static str),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize)
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// Examine the bytes a client sent so far.
pub fn client_hello(buf: &[u8]) -> Hello {
    // Reassemble the handshake bytes from the records.
    let mut hs = Vec::new();
    let mut pos = 0;
    loop {
        let Some(header) = buf.get(pos..pos + 5) else {
            if pos == 0 && buf.first().is_some_and(|&b| b != CONTENT_HANDSHAKE) {
                return Hello::NotTls;
            }
            return Hello::Incomplete;
        };
        if header[0] != CONTENT_HANDSHAKE {
            return if pos == 0 {
                Hello::NotTls
            } else {
                Hello::Malformed("non-handshake record inside the ClientHello")
            };
        }
        if header[1] != 3 {
            return if pos == 0 {
                Hello::NotTls
            } else {
                Hello::Malformed("record version")
            };
        }
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if len == 0 || len > 16384 + 256 {
            return Hello::Malformed("record length");
        }
        let Some(body) = buf.get(pos + 5..pos + 5 + len) else {
            return Hello::Incomplete;
        };
        hs.extend_from_slice(body);
        pos += 5 + len;
        if hs.len() >= 4 {
            if hs[0] != CLIENT_HELLO {
                return Hello::Malformed("first handshake message is not a ClientHello");
            }
            let want = 4 + ((hs[1] as usize) << 16 | (hs[2] as usize) << 8 | hs[3] as usize);
            if want > MAX_HELLO {
                return Hello::Malformed("ClientHello too large");
            }
            if hs.len() >= want {
                hs.truncate(want);
                break;
            }
        }
        if hs.len() > MAX_HELLO {
            return Hello::Malformed("ClientHello too large");
        }
    }
    parse_hello(&hs).unwrap_or(Hello::Malformed("ClientHello"))
}

fn parse_hello(hs: &[u8]) -> Option<Hello> {
    let mut r = Reader { buf: hs, pos: 0 };
    r.u8()?; // type
    let body_len = r.u24()?;
    let body = r.take(body_len)?;
    let mut r = Reader { buf: body, pos: 0 };
    r.u16()?; // legacy_version
    r.take(32)?; // random
    r.vec8()?; // session id
    r.vec16()?; // cipher suites
    r.vec8()?; // compression methods
    if r.pos == body.len() {
        return Some(Hello::NoSni);
    }
    let exts = r.vec16()?;
    let mut r = Reader { buf: exts, pos: 0 };
    let mut found = None;
    while r.pos < exts.len() {
        let ty = r.u16()?;
        let data = r.vec16()?;
        if ty != EXT_SERVER_NAME {
            continue;
        }
        if found.is_some() {
            return Some(Hello::Malformed("two server_name extensions"));
        }
        let mut s = Reader { buf: data, pos: 0 };
        let list = s.vec16()?;
        let mut l = Reader { buf: list, pos: 0 };
        let mut names = Vec::new();
        while l.pos < list.len() {
            let kind = l.u8()?;
            let name = l.vec16()?;
            if kind == NAME_HOST {
                names.push(name);
            }
        }
        // RFC 6066: at most one name of each type; two host names would let the server
        // pick one we did not check.
        if names.len() != 1 {
            return Some(Hello::Malformed("server_name needs exactly one host name"));
        }
        let name = std::str::from_utf8(names[0]).ok()?;
        found = Some(name.to_string());
    }
    Some(match found {
        Some(n) => Hello::Sni(n),
        None => Hello::NoSni,
    })
}

/// Build a minimal ClientHello (for tests and the fuzzer's seeds).
pub fn build_client_hello(sni: Option<&str>) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    if let Some(n) = sni {
        let name = n.as_bytes();
        let mut list = vec![NAME_HOST];
        list.extend_from_slice(&(name.len() as u16).to_be_bytes());
        list.extend_from_slice(name);
        let mut data = (list.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&list);
        exts.extend_from_slice(&EXT_SERVER_NAME.to_be_bytes());
        exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
        exts.extend_from_slice(&data);
    }
    // a supported_versions extension, so the SNI is not the only one
    exts.extend_from_slice(&[0, 43, 0, 3, 2, 3, 4]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![CLIENT_HELLO];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![CONTENT_HANDSHAKE, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_sni() {
        let h = build_client_hello(Some("registry.test"));
        assert_eq!(client_hello(&h), Hello::Sni("registry.test".into()));
        for i in 0..h.len() {
            assert_eq!(client_hello(&h[..i]), Hello::Incomplete, "{i}");
        }
        assert_eq!(client_hello(&build_client_hello(None)), Hello::NoSni);
        assert_eq!(client_hello(b"GET / HTTP/1.1\r\n"), Hello::NotTls);
        assert_eq!(client_hello(b"G"), Hello::NotTls);
    }

    #[test]
    fn reassembles_split_records() {
        let h = build_client_hello(Some("a.test"));
        let hs = &h[5..];
        let (a, b) = hs.split_at(10);
        let mut split = vec![22, 3, 1];
        split.extend_from_slice(&(a.len() as u16).to_be_bytes());
        split.extend_from_slice(a);
        split.extend_from_slice(&[22, 3, 1]);
        split.extend_from_slice(&(b.len() as u16).to_be_bytes());
        split.extend_from_slice(b);
        assert_eq!(client_hello(&split), Hello::Sni("a.test".into()));
        let mut bad = split.clone();
        bad[5 + a.len()] = 23;
        assert!(matches!(client_hello(&bad), Hello::Malformed(_)));
    }

    #[test]
    fn refuses_corrupt_lengths() {
        let mut h = build_client_hello(Some("a.test"));
        let n = h.len();
        h[n - 10] = 0xff;
        assert!(matches!(
            client_hello(&h),
            Hello::Malformed(_) | Hello::Incomplete
        ));
    }
}
