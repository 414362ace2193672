//! Property test of the egress policy core (`stockade::net`): no input makes a parser
//! panic, and what the parsers accept keeps their invariants (consumed lengths within the
//! input, accepted names are host names the allow list can judge, DNS answers parse back).
//!
//! Inputs: seeds of every protocol (proxy requests, SOCKS5, ClientHellos, DNS queries,
//! allow entries) with random byte edits, truncations and splices, plus arbitrary bytes.
//! `STOCKADE_FUZZ_CASES` sets the count (default small for debug `cargo test`); test.sh
//! runs 200k in release beside the profile fuzzer.

use stockade::net::pattern::{normalize_name, AllowList, HostPattern, Match};
use stockade::net::{dns, http, socks, tls};

const DEFAULT_CASES: u64 = 3_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const NAMES: &[&str] = &[
    "registry.test",
    "a.b.crates.io",
    "crates.io",
    "127.0.0.1",
    "[::1]",
    "0x7f.1",
    "xn--e1a.test",
    "A.TEST.",
    "",
    ".",
    "a..b",
    "*.x.test",
    "-a.test",
    "evil.test",
    "localhost",
    "2130706433",
];

fn seeds(rng: &mut Rng) -> Vec<u8> {
    let name = NAMES[rng.below(NAMES.len())];
    match rng.below(8) {
        0 => format!("CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n").into_bytes(),
        1 => format!(
            "GET http://{name}:80/p?q HTTP/1.1\r\nHost: {name}\r\nContent-Length: 3\r\n\r\nabc"
        )
        .into_bytes(),
        2 => {
            let mut v = vec![5, 1, 0, 3, name.len() as u8];
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(&[1, 187]);
            v
        }
        3 => vec![5, 2, 0, 2],
        4 => tls::build_client_hello(Some(name)),
        5 => tls::build_client_hello(None),
        6 => dns::build_query(rng.next() as u16, name, dns::TYPE_A),
        _ => name.as_bytes().to_vec(),
    }
}

fn mutate(rng: &mut Rng, mut v: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.below(6) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 if !v.is_empty() => {
                let n = rng.below(v.len());
                v.truncate(n);
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, [0u8, b':', b'.', b'\n', 0xff, 0x16, 0xc0][rng.below(7)]);
            }
            3 => {
                let extra = seeds(rng);
                v.extend_from_slice(&extra);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let n = rng.below(300);
                v.splice(i..i, (0..n).map(|_| rng.next() as u8));
            }
        }
    }
    v
}

fn check_one(data: &[u8], allow: &AllowList) {
    if let Ok(Some((r, n))) = http::parse_request(data) {
        assert!(n <= data.len());
        if let Match::Allowed(i) = allow.check(r.host(), r.port()) {
            let name = normalize_name(r.host()).expect("allowed names normalize");
            assert!(allow.entries[i].matches(&name, r.port()));
        }
    }
    if let Ok(Some((_, n))) = socks::parse_greeting(data) {
        assert!(n <= data.len());
    }
    if let Ok(Some((c, n))) = socks::parse_request(data) {
        assert!(n <= data.len() && c.port != 0);
        let _ = allow.check(&c.host, c.port);
    }
    if let tls::Hello::Sni(name) = tls::client_hello(data) {
        let _ = allow.check(&name, 443);
    }
    match dns::parse_query(data) {
        Ok(q) => {
            let addrs = [
                "1.2.3.4".parse().unwrap(),
                "2001:4860::8888".parse().unwrap(),
            ];
            let a = dns::answer(&q, dns::rcode::NOERROR, &addrs, 5);
            assert_eq!(u16::from_be_bytes([a[0], a[1]]), q.id);
            assert!(a[2] & 0x80 != 0, "an answer is a response");
            let _ = allow.allows_name(&q.name);
        }
        Err(e) => {
            let _ = dns::error_reply(&e);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = HostPattern::parse(text) {
            assert!(normalize_name(&p.name).is_ok(), "{text:?}");
            assert!(p.port != 0);
        }
    }
}

#[test]
fn net_parsers_never_panic() {
    let cases: u64 = std::env::var("STOCKADE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed: u64 = std::env::var("STOCKADE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_0e14);
    let allow = AllowList {
        entries: ["registry.test", "*.crates.io", "plain.test:80"]
            .iter()
            .map(|e| HostPattern::parse(e).unwrap())
            .collect(),
    };
    let mut rng = Rng(seed | 1);
    for case in 0..cases {
        let data = if rng.below(10) == 0 {
            (0..rng.below(600)).map(|_| rng.next() as u8).collect()
        } else {
            let s = seeds(&mut rng);
            mutate(&mut rng, s)
        };
        let r = std::panic::catch_unwind(|| check_one(&data, &allow));
        assert!(r.is_ok(), "case {case} (seed {seed}) panicked on {data:?}");
    }
}
