//! The sandbox's DNS stub: parse a query, build the answer.
//!
//! The stub answers names the allow list names (with addresses the proxy resolved on the
//! host and checked, see [`super::addr`]) and REFUSED for everything else. It answers A and
//! AAAA; other types for an allowed name get an empty NOERROR answer. Only standard queries
//! with exactly one question are accepted; names must not use compression (a question
//! never needs it).

use std::net::IpAddr;

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// Response codes.
pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    /// Recursion desired (copied to the answer).
    pub rd: bool,
    /// Lower-case, without the trailing dot ("" for the root).
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// Why a query cannot be answered normally; `id` is known when the header parsed, so a
/// FORMERR or NOTIMP can still be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub id: Option<u16>,
    pub rcode: u8,
    pub what: &'static str,
}

fn err(id: Option<u16>, rcode: u8, what: &'static str) -> QueryError {
    QueryError { id, rcode, what }
}

/// Parse one DNS message (UDP payload, or a TCP message without its length prefix).
pub fn parse_query(msg: &[u8]) -> Result<Query, QueryError> {
    if msg.len() < 12 {
        return Err(err(None, rcode::FORMERR, "shorter than a header"));
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]);
    let ns = u16::from_be_bytes([msg[8], msg[9]]);
    if flags & 0x8000 != 0 {
        // A response: never answer it (no reflection loops).
        return Err(err(None, rcode::FORMERR, "a response, not a query"));
    }
    let opcode = (flags >> 11) & 0xf;
    if opcode != 0 {
        return Err(err(Some(id), rcode::NOTIMP, "not a standard query"));
    }
    if qd != 1 || an != 0 || ns != 0 {
        return Err(err(Some(id), rcode::FORMERR, "needs exactly one question"));
    }
    let mut pos = 12;
    let mut name = String::new();
    loop {
        let Some(&len) = msg.get(pos) else {
            return Err(err(Some(id), rcode::FORMERR, "truncated name"));
        };
        pos += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return Err(err(
                Some(id),
                rcode::FORMERR,
                "compressed or extended label",
            ));
        }
        let Some(label) = msg.get(pos..pos + len as usize) else {
            return Err(err(Some(id), rcode::FORMERR, "truncated label"));
        };
        pos += len as usize;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            // Anything outside host-name characters cannot match an allow entry; keep the
            // text unambiguous (no '.' inside a label, no non-ASCII).
            if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(err(Some(id), rcode::REFUSED, "label with unusual bytes"));
            }
            name.push(b.to_ascii_lowercase() as char);
        }
        if name.len() > 253 {
            return Err(err(Some(id), rcode::FORMERR, "name too long"));
        }
    }
    let Some(tail) = msg.get(pos..pos + 4) else {
        return Err(err(Some(id), rcode::FORMERR, "truncated question"));
    };
    Ok(Query {
        id,
        rd: flags & 0x0100 != 0,
        name,
        qtype: u16::from_be_bytes([tail[0], tail[1]]),
        qclass: u16::from_be_bytes([tail[2], tail[3]]),
    })
}

fn header(id: u16, rd: bool, code: u8, qd: u16, an: u16) -> Vec<u8> {
    let mut flags: u16 = 0x8000 | 0x0080 | u16::from(code); // QR, RA
    if rd {
        flags |= 0x0100;
    }
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&qd.to_be_bytes());
    out.extend_from_slice(&an.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    if !name.is_empty() {
        for label in name.split('.') {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
}

/// An answer to `q` with response code `code` and, for NOERROR, the addresses of the
/// question's type among `addrs`.
pub fn answer(q: &Query, code: u8, addrs: &[IpAddr], ttl: u32) -> Vec<u8> {
    let records: Vec<&IpAddr> = if code == rcode::NOERROR && q.qclass == CLASS_IN {
        addrs
            .iter()
            .filter(|a| match a {
                IpAddr::V4(_) => q.qtype == TYPE_A,
                IpAddr::V6(_) => q.qtype == TYPE_AAAA,
            })
            .take(16)
            .collect()
    } else {
        Vec::new()
    };
    let mut out = header(q.id, q.rd, code, 1, records.len() as u16);
    push_name(&mut out, &q.name);
    out.extend_from_slice(&q.qtype.to_be_bytes());
    out.extend_from_slice(&q.qclass.to_be_bytes());
    for a in records {
        out.extend_from_slice(&[0xc0, 12]); // pointer to the question's name
        let (ty, data): (u16, Vec<u8>) = match a {
            IpAddr::V4(v) => (TYPE_A, v.octets().to_vec()),
            IpAddr::V6(v) => (TYPE_AAAA, v.octets().to_vec()),
        };
        out.extend_from_slice(&ty.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// The reply to a query that did not parse (`None`: send nothing).
pub fn error_reply(e: &QueryError) -> Option<Vec<u8>> {
    e.id.map(|id| header(id, false, e.rcode, 0, 0))
}

/// Build a query (tests, fuzz seeds).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    push_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_answers() {
        let m = build_query(0x1234, "Registry.Test", TYPE_A);
        let q = parse_query(&m).unwrap();
        assert_eq!(
            (q.id, q.name.as_str(), q.qtype, q.rd),
            (0x1234, "registry.test", TYPE_A, true)
        );
        let addrs: Vec<IpAddr> = vec!["1.2.3.4".parse().unwrap(), "2001:4860::1".parse().unwrap()];
        let a = answer(&q, rcode::NOERROR, &addrs, 30);
        assert_eq!(&a[..2], &[0x12, 0x34]);
        assert_eq!(a[3] & 0xf, 0);
        assert_eq!(&a[6..8], &[0, 1]); // one A record
        assert_eq!(&a[a.len() - 4..], &[1, 2, 3, 4]);
        let r = answer(&q, rcode::REFUSED, &addrs, 30);
        assert_eq!((r[3] & 0xf, &r[6..8]), (rcode::REFUSED, &[0u8, 0][..]));
        let q6 = parse_query(&build_query(1, "a.test", TYPE_AAAA)).unwrap();
        let a6 = answer(&q6, rcode::NOERROR, &addrs, 30);
        assert_eq!(&a6[6..8], &[0, 1]);
        assert_eq!(
            a6.len(),
            build_query(1, "a.test", TYPE_AAAA).len() + 2 + 10 + 16
        );
    }

    #[test]
    fn refuses_odd_queries() {
        assert_eq!(parse_query(&[0; 5]).unwrap_err().id, None);
        let mut m = build_query(7, "a.test", TYPE_A);
        m[2] |= 0x80;
        assert!(error_reply(&parse_query(&m).unwrap_err()).is_none());
        let mut m = build_query(7, "a.test", TYPE_A);
        m[5] = 2;
        let e = parse_query(&m).unwrap_err();
        assert_eq!((e.id, e.rcode), (Some(7), rcode::FORMERR));
        assert_eq!(error_reply(&e).unwrap()[3] & 0xf, rcode::FORMERR);
        let mut m = build_query(7, "a.test", TYPE_A);
        m[12] = 0xc0;
        assert!(parse_query(&m).is_err());
        let mut m = build_query(7, "a.test", TYPE_A);
        m[13] = b'.';
        assert_eq!(parse_query(&m).unwrap_err().rcode, rcode::REFUSED);
        let m = build_query(7, "a.test", TYPE_A);
        assert!(parse_query(&m[..m.len() - 1]).is_err());
    }
}
