//! SOCKS5 (RFC 1928), CONNECT only, no authentication, domain names only (`socks5h://`):
//! an IPv4 or IPv6 destination is refused like an IP literal in `allow`.

/// Parse outcome of an incremental parser: more bytes needed, or a value and its length.
pub type Parsed<T> = Result<Option<(T, usize)>, SocksError>;

/// Why a SOCKS exchange is refused, with the reply code sent (when a reply is possible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksError {
    /// Not SOCKS version 5.
    Version,
    /// The client offers no "no authentication" method.
    NoAcceptableMethod,
    /// BIND or UDP ASSOCIATE.
    CommandNotSupported,
    /// An IP address instead of a name.
    AddressType,
    Malformed(&'static str),
}

impl std::fmt::Display for SocksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocksError::Version => write!(f, "not SOCKS5"),
            SocksError::NoAcceptableMethod => write!(f, "no acceptable authentication method"),
            SocksError::CommandNotSupported => write!(f, "only CONNECT is supported"),
            SocksError::AddressType => {
                write!(
                    f,
                    "IP address destination (only host names are allowed: socks5h)"
                )
            }
            SocksError::Malformed(w) => write!(f, "malformed SOCKS5 request: {w}"),
        }
    }
}

/// Reply codes.
pub mod reply {
    pub const SUCCEEDED: u8 = 0;
    pub const GENERAL_FAILURE: u8 = 1;
    pub const NOT_ALLOWED: u8 = 2;
    pub const HOST_UNREACHABLE: u8 = 4;
    pub const CONNECTION_REFUSED: u8 = 5;
    pub const COMMAND_NOT_SUPPORTED: u8 = 7;
    pub const ADDRESS_TYPE_NOT_SUPPORTED: u8 = 8;
}

impl SocksError {
    /// The reply code for a request-stage error.
    pub fn reply_code(&self) -> u8 {
        match self {
            SocksError::CommandNotSupported => reply::COMMAND_NOT_SUPPORTED,
            SocksError::AddressType => reply::NOT_ALLOWED,
            _ => reply::GENERAL_FAILURE,
        }
    }
}

/// The greeting: `05 n methods...`. Returns its length when "no authentication" is offered.
pub fn parse_greeting(buf: &[u8]) -> Parsed<()> {
    let Some(&ver) = buf.first() else {
        return Ok(None);
    };
    if ver != 5 {
        return Err(SocksError::Version);
    }
    let Some(&n) = buf.get(1) else {
        return Ok(None);
    };
    let len = 2 + n as usize;
    if buf.len() < len {
        return Ok(None);
    }
    if !buf[2..len].contains(&0) {
        return Err(SocksError::NoAcceptableMethod);
    }
    Ok(Some(((), len)))
}

/// The method selection sent back: no authentication, or none acceptable.
pub fn greeting_reply(ok: bool) -> [u8; 2] {
    [5, if ok { 0 } else { 0xff }]
}

/// A CONNECT request: `05 01 00 03 len name port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub host: String,
    pub port: u16,
}

/// Parse a request after the greeting.
pub fn parse_request(buf: &[u8]) -> Parsed<Connect> {
    if buf.len() < 4 {
        if buf.first().is_some_and(|&v| v != 5) {
            return Err(SocksError::Version);
        }
        return Ok(None);
    }
    if buf[0] != 5 {
        return Err(SocksError::Version);
    }
    if buf[2] != 0 {
        return Err(SocksError::Malformed("reserved byte"));
    }
    let addr_len = match buf[3] {
        1 => 4,
        4 => 16,
        3 => match buf.get(4) {
            Some(&n) => 1 + n as usize,
            None => return Ok(None),
        },
        _ => return Err(SocksError::Malformed("address type")),
    };
    let len = 4 + addr_len + 2;
    if buf.len() < len {
        return Ok(None);
    }
    match buf[1] {
        1 => {}
        2 | 3 => return Err(SocksError::CommandNotSupported),
        _ => return Err(SocksError::Malformed("command")),
    }
    if buf[3] != 3 {
        return Err(SocksError::AddressType);
    }
    let name = &buf[5..4 + addr_len];
    if name.is_empty() {
        return Err(SocksError::Malformed("empty host name"));
    }
    let host = std::str::from_utf8(name)
        .map_err(|_| SocksError::Malformed("host name is not UTF-8"))?
        .to_string();
    let port = u16::from_be_bytes([buf[len - 2], buf[len - 1]]);
    if port == 0 {
        return Err(SocksError::Malformed("port 0"));
    }
    Ok(Some((Connect { host, port }, len)))
}

/// A reply with an all-zero IPv4 bound address (clients ignore it for CONNECT).
pub fn request_reply(code: u8) -> [u8; 10] {
    [5, code, 0, 1, 0, 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting() {
        assert_eq!(parse_greeting(&[5]), Ok(None));
        assert_eq!(parse_greeting(&[5, 2, 2]), Ok(None));
        assert_eq!(parse_greeting(&[5, 2, 2, 0, 9]), Ok(Some(((), 4))));
        assert_eq!(
            parse_greeting(&[5, 1, 2]),
            Err(SocksError::NoAcceptableMethod)
        );
        assert_eq!(parse_greeting(&[4, 1, 0]), Err(SocksError::Version));
    }

    #[test]
    fn request() {
        let mut r = vec![5, 1, 0, 3, 13];
        r.extend_from_slice(b"registry.test");
        r.extend_from_slice(&443u16.to_be_bytes());
        for i in 0..r.len() {
            assert_eq!(parse_request(&r[..i]), Ok(None), "{i}");
        }
        r.push(0x16);
        let (c, n) = parse_request(&r).unwrap().unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, n),
            ("registry.test", 443, r.len() - 1)
        );
        assert_eq!(
            parse_request(&[5, 1, 0, 1, 127, 0, 0, 1, 0, 80]),
            Err(SocksError::AddressType)
        );
        let mut v6 = vec![5, 1, 0, 4];
        v6.extend_from_slice(&[0; 18]);
        assert_eq!(parse_request(&v6), Err(SocksError::AddressType));
        assert_eq!(
            parse_request(&[5, 3, 0, 3, 1, b'a', 0, 53]),
            Err(SocksError::CommandNotSupported)
        );
        assert!(parse_request(&[5, 1, 0, 3, 1, b'a', 0, 0]).is_err());
        assert!(parse_request(&[5, 1, 0, 3, 0, 0, 80]).is_err());
    }
}
