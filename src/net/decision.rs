//! The record of one connection the proxy decided on.

use serde::Serialize;

/// Allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Allowed,
    Denied,
}

/// One decision: what was asked, what was decided and why, and (when allowed) what flowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// `http-connect`, `http`, `socks5`, `dns`.
    pub protocol: &'static str,
    /// The name as the client sent it.
    pub host: String,
    pub port: u16,
    /// Why (for an allowed connection: the allow entry that matched).
    pub reason: String,
    /// The address dialled (allowed connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Bytes from the sandbox to the server.
    pub bytes_out: u64,
    /// Bytes from the server to the sandbox.
    pub bytes_in: u64,
    /// Milliseconds since the proxy started.
    pub at_ms: u64,
}

impl Decision {
    /// The one stderr line for a denied connection: the host and the profile key that
    /// would allow it.
    pub fn denial_line(&self) -> String {
        let literal = crate::net::pattern::normalize_name(&self.host)
            == Err(crate::net::PatternError::IpLiteral);
        let hint = if literal {
            "IP addresses cannot be allowed: use the host name".to_string()
        } else if self.protocol == "dns" || self.port == super::pattern::DEFAULT_PORT {
            format!("add \"{}\" to network.allow", self.host)
        } else {
            format!("add \"{}:{}\" to network.allow", self.host, self.port)
        };
        format!(
            "stockade: network: denied {} {}:{} ({}); {}",
            self.protocol, self.host, self.port, self.reason, hint
        )
    }
}
