//! Host-side name resolution for the proxy, and the address check on every result.
//!
//! Names resolve with the host's resolver (getaddrinfo through `ToSocketAddrs`); every
//! address is classified ([`super::addr`]) and only public ones are dialled, in the order
//! the resolver gave them. The proxy connects to exactly the address it checked.
//!
//! Test hooks (read ONCE by the supervisor when it starts the proxy, from ITS OWN
//! environment, never from the profile): `STOCKADE_TEST_NET_HOSTS=name=ip,name=ip` replaces
//! the resolver with a fixed map, and `STOCKADE_TEST_NET_LOOPBACK=1` lets loopback results
//! (and only those) through, so tests can serve `registry.test` on 127.0.0.2. A profile
//! cannot reach either: `[env]` shapes the payload's environment, which the proxy never
//! reads, and whoever sets the supervisor's environment already controls the host.

use super::addr::{classify, AddrClass};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// How the proxy resolves names.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Test-only fixed map (see the module doc).
    test_hosts: Option<BTreeMap<String, Vec<IpAddr>>>,
    /// Test-only: let loopback results through.
    test_loopback: bool,
}

impl Resolver {
    /// The resolver for a run, with the test hooks from the supervisor's environment.
    pub fn from_supervisor_env() -> Resolver {
        let test_hosts = std::env::var("STOCKADE_TEST_NET_HOSTS").ok().map(|v| {
            let mut m: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
            for pair in v.split(',') {
                if let Some((n, ip)) = pair.split_once('=') {
                    if let Ok(ip) = ip.trim().parse() {
                        m.entry(n.trim().to_ascii_lowercase()).or_default().push(ip);
                    }
                }
            }
            m
        });
        Resolver {
            test_hosts,
            test_loopback: std::env::var("STOCKADE_TEST_NET_LOOPBACK").as_deref() == Ok("1"),
        }
    }

    fn permitted(&self, class: AddrClass) -> bool {
        class.allowed() || (self.test_loopback && class == AddrClass::Loopback)
    }

    /// Resolve `name` (already normalized and allowed) and keep the dialable addresses.
    /// Err: why nothing is left (the reason recorded for the denial).
    pub fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let all: Vec<SocketAddr> = match &self.test_hosts {
            Some(m) => m
                .get(name)
                .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
                .unwrap_or_default(),
            None => (name, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve: {e}"))?
                .collect(),
        };
        if all.is_empty() {
            return Err("cannot resolve: no addresses".into());
        }
        let ok: Vec<SocketAddr> = all
            .iter()
            .copied()
            .filter(|a| self.permitted(classify(a.ip())))
            .collect();
        if ok.is_empty() {
            let a = all[0].ip();
            return Err(format!(
                "resolves only to non-public addresses ({a} is {:?})",
                classify(a)
            ));
        }
        Ok(ok)
    }
}
