//! Allow-list entries and matching.
//!
//! An entry is a host name, optionally `*.`-prefixed (any name strictly below the suffix:
//! `*.crates.io` matches `index.crates.io`, not `crates.io`), and optionally `:PORT`
//! (default 443; plain HTTP needs an explicit `:80`). IP literals are refused: the point
//! of the list is names, and an address would bypass the address checks of [`super::addr`].

use serde::Serialize;
use std::fmt;

/// The port an entry without `:PORT` allows.
pub const DEFAULT_PORT: u16 = 443;

/// Longest DNS name in text form (RFC 1035, without the trailing dot).
const MAX_NAME: usize = 253;
/// Longest DNS label.
const MAX_LABEL: usize = 63;

/// Why an entry or a requested name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    IpLiteral,
    BadName(String),
    BadPort(String),
    BadWildcard,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Empty => write!(f, "empty host name"),
            PatternError::IpLiteral => write!(f, "an IP address, not a host name"),
            PatternError::BadName(why) => write!(f, "not a host name: {why}"),
            PatternError::BadPort(p) => write!(f, "port `{p}` is not a number in 1..=65535"),
            PatternError::BadWildcard => {
                write!(
                    f,
                    "`*` is allowed only as a whole first label (`*.example.com`)"
                )
            }
        }
    }
}

/// One `allow` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPattern {
    /// Lower-case name without trailing dot; for a wildcard, the suffix after `*.`.
    pub name: String,
    /// `*.name`: any name strictly below `name`.
    pub wildcard: bool,
    pub port: u16,
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*.")?;
        }
        write!(f, "{}:{}", self.name, self.port)
    }
}

impl HostPattern {
    /// Parse an entry: `name`, `*.suffix`, either with `:PORT`.
    pub fn parse(text: &str) -> Result<HostPattern, PatternError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(PatternError::Empty);
        }
        if t.starts_with('[') || t.parse::<std::net::IpAddr>().is_ok() {
            return Err(PatternError::IpLiteral);
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (t, DEFAULT_PORT),
        };
        let (wildcard, rest) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        if rest.contains('*') {
            return Err(PatternError::BadWildcard);
        }
        let name = normalize_name(rest)?;
        if wildcard && !name.contains('.') {
            // `*.com` would allow a whole top-level domain.
            return Err(PatternError::BadName(
                "a wildcard needs at least two labels after `*.`".into(),
            ));
        }
        Ok(HostPattern {
            name,
            wildcard,
            port,
        })
    }

    /// Whether the normalized `name` and `port` match.
    pub fn matches(&self, name: &str, port: u16) -> bool {
        if port != self.port {
            return false;
        }
        if self.wildcard {
            name.len() > self.name.len() + 1
                && name.ends_with(&self.name)
                && name.as_bytes()[name.len() - self.name.len() - 1] == b'.'
        } else {
            name == self.name
        }
    }

    /// Whether `name` matches ignoring the port (the DNS stub answers for such names).
    pub fn matches_name(&self, name: &str) -> bool {
        self.matches(name, self.port)
    }
}

fn parse_port(p: &str) -> Result<u16, PatternError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PatternError::BadPort(p.into()));
    }
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(PatternError::BadPort(p.into())),
    }
}

/// Lower-case, strip one trailing dot, check the name is a DNS host name (letters, digits,
/// `-` and `_` in labels of 1..=63 bytes, not starting or ending with `-`) and not an IPv4
/// literal in any of the forms URL parsers accept (`127.1`, `0x7f.0.0.1`, `2130706433`: a
/// last label that is all digits or `0x` hex makes the name an address to them).
pub fn normalize_name(text: &str) -> Result<String, PatternError> {
    let t = text.strip_suffix('.').unwrap_or(text);
    if t.is_empty() {
        return Err(PatternError::Empty);
    }
    if t.starts_with('[') || t.parse::<std::net::IpAddr>().is_ok() {
        return Err(PatternError::IpLiteral);
    }
    if t.len() > MAX_NAME {
        return Err(PatternError::BadName(format!(
            "longer than {MAX_NAME} characters"
        )));
    }
    let name = t.to_ascii_lowercase();
    for label in name.split('.') {
        if label.is_empty() {
            return Err(PatternError::BadName("empty label".into()));
        }
        if label.len() > MAX_LABEL {
            return Err(PatternError::BadName(format!(
                "label longer than {MAX_LABEL} characters"
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(PatternError::BadName(format!("character {c:?}")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(PatternError::BadName(
                "a label starts or ends with `-`".into(),
            ));
        }
    }
    let last = name.rsplit('.').next().unwrap_or("");
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err(PatternError::IpLiteral);
    }
    Ok(name)
}

/// The compiled `allow` list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AllowList {
    pub entries: Vec<HostPattern>,
}

/// Why a name is or is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Allowed by entry `index`.
    Allowed(usize),
    /// The name is not a host name (an IP literal, bad syntax).
    Invalid(PatternError),
    /// The name is allowed, but only on other ports.
    WrongPort(Vec<u16>),
    /// No entry names it.
    NotListed,
}

impl AllowList {
    /// Decide `name` (as the client sent it) on `port`.
    pub fn check(&self, name: &str, port: u16) -> Match {
        let name = match normalize_name(name) {
            Ok(n) => n,
            Err(e) => return Match::Invalid(e),
        };
        if let Some(i) = self.entries.iter().position(|e| e.matches(&name, port)) {
            return Match::Allowed(i);
        }
        let mut ports: Vec<u16> = self
            .entries
            .iter()
            .filter(|e| e.matches_name(&name))
            .map(|e| e.port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.is_empty() {
            Match::NotListed
        } else {
            Match::WrongPort(ports)
        }
    }

    /// Whether any entry names `name` (on any port): the DNS stub's rule.
    pub fn allows_name(&self, name: &str) -> bool {
        match normalize_name(name) {
            Ok(n) => self.entries.iter().any(|e| e.matches_name(&n)),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList {
            entries: entries
                .iter()
                .map(|e| HostPattern::parse(e).unwrap())
                .collect(),
        }
    }

    #[test]
    fn parses_entries() {
        let p = HostPattern::parse("Registry.NPMJS.org.").unwrap();
        assert_eq!(
            (p.name.as_str(), p.wildcard, p.port),
            ("registry.npmjs.org", false, 443)
        );
        let p = HostPattern::parse("*.crates.io:8443").unwrap();
        assert_eq!(
            (p.name.as_str(), p.wildcard, p.port),
            ("crates.io", true, 8443)
        );
        assert_eq!(HostPattern::parse("x.test:80").unwrap().port, 80);
        assert_eq!(p.to_string(), "*.crates.io:8443");
    }

    #[test]
    fn refuses_bad_entries() {
        for (e, want) in [
            ("", PatternError::Empty),
            ("1.2.3.4", PatternError::IpLiteral),
            ("1.2.3.4:80", PatternError::IpLiteral),
            ("[::1]:443", PatternError::IpLiteral),
            ("::1", PatternError::IpLiteral),
            ("127.1", PatternError::IpLiteral),
            ("0x7f.0.0.1", PatternError::IpLiteral),
            ("2130706433", PatternError::IpLiteral),
            ("a.b:0", PatternError::BadPort("0".into())),
            ("a.b:65536", PatternError::BadPort("65536".into())),
            ("a.b:", PatternError::BadPort("".into())),
            ("a.b:+1", PatternError::BadPort("+1".into())),
            ("a*.b.c", PatternError::BadWildcard),
            ("*.*.b.c", PatternError::BadWildcard),
            ("*", PatternError::BadWildcard),
        ] {
            assert_eq!(HostPattern::parse(e), Err(want), "{e}");
        }
        for e in [
            "*.com",
            "a..b",
            "-a.b",
            "a-.b",
            "a b.c",
            "a/b.c",
            "http://a.b",
            "é.test",
        ] {
            assert!(
                matches!(HostPattern::parse(e), Err(PatternError::BadName(_)))
                    || matches!(HostPattern::parse(e), Err(PatternError::BadPort(_))),
                "{e}: {:?}",
                HostPattern::parse(e)
            );
        }
        assert!(HostPattern::parse(&format!("{}.test", "a".repeat(64))).is_err());
    }

    #[test]
    fn matches_exact_suffix_and_port() {
        let l = list(&["registry.test", "*.crates.io", "plain.test:80"]);
        assert_eq!(l.check("registry.test", 443), Match::Allowed(0));
        assert_eq!(l.check("REGISTRY.test.", 443), Match::Allowed(0));
        assert_eq!(l.check("index.crates.io", 443), Match::Allowed(1));
        assert_eq!(l.check("a.b.crates.io", 443), Match::Allowed(1));
        assert_eq!(l.check("crates.io", 443), Match::NotListed);
        assert_eq!(l.check("evilcrates.io", 443), Match::NotListed);
        assert_eq!(l.check("registry.test", 80), Match::WrongPort(vec![443]));
        assert_eq!(l.check("plain.test", 443), Match::WrongPort(vec![80]));
        assert_eq!(l.check("plain.test", 80), Match::Allowed(2));
        assert_eq!(l.check("registry.test.evil.test", 443), Match::NotListed);
        assert!(matches!(
            l.check("127.0.0.1", 443),
            Match::Invalid(PatternError::IpLiteral)
        ));
        assert!(matches!(
            l.check("[::1]", 443),
            Match::Invalid(PatternError::IpLiteral)
        ));
        assert!(l.allows_name("registry.test"));
        assert!(l.allows_name("plain.test"));
        assert!(!l.allows_name("evil.test"));
    }
}
