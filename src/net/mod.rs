//! Egress by host name (`network.mode = "proxy"`).
//!
//! The policy core is pure code (no I/O, no syscalls), unit-tested here and fuzzed by
//! `tests/net_fuzz.rs`, like `compile`:
//!
//! - [`pattern`]: `allow` entries (`registry.npmjs.org`, `*.crates.io`, `host:80`) and the
//!   allow list that matches a requested name and port;
//! - [`addr`]: which resolved addresses a name may lead to (public unicast only: loopback,
//!   private, link-local, CGNAT, cloud metadata, ... are refused, so an allowed name that
//!   resolves to an internal address, e.g. by DNS rebinding, still reaches nothing inside);
//! - [`http`]: CONNECT and absolute-form plain-HTTP forward requests (target must match
//!   `Host`);
//! - [`socks`]: SOCKS5 greetings and CONNECT requests (domain names only: `socks5h`);
//! - [`tls`]: the SNI of a TLS ClientHello (after CONNECT it must equal the CONNECT host);
//! - [`dns`]: queries to the sandbox's DNS stub and its answers;
//! - [`decision`]: the record of every allowed or denied connection.
//!
//! The I/O around the core: [`listeners`] (created by the sandbox's child in its network
//! namespace), [`supervise`] (forks the proxy, collects its decisions), [`proxy`] (the
//! proxy process), [`relay`] (its zero-copy byte relay) and [`resolve`] (host-side
//! resolution and the address check).

pub mod addr;
pub mod decision;
pub mod dns;
pub mod http;
pub mod listeners;
pub mod pattern;
pub mod proxy;
pub mod relay;
pub mod resolve;
pub mod socks;
pub mod supervise;
pub mod tls;

pub use decision::{Decision, Verdict};
pub use pattern::{AllowList, HostPattern, PatternError};
