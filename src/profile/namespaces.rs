//! `[namespaces]` and `[network]`.

use super::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Namespaces the sandbox gets. Each one defaults to false when this table is absent from
/// every layer; the built-in `strict` profile turns them all on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Namespaces {
    /// A user namespace: needed to sandbox without root.
    pub user: Option<bool>,
    /// A mount namespace: needed for every `[[mount]]` and a private root.
    pub mount: Option<bool>,
    /// A PID namespace: the sandbox sees only its own processes.
    pub pid: Option<bool>,
    /// A network namespace with only loopback up (see also `[network]`).
    pub net: Option<bool>,
    /// An IPC namespace (System V IPC, POSIX message queues).
    pub ipc: Option<bool>,
    /// A UTS namespace: needed for `filesystem.hostname` and `domainname`.
    pub uts: Option<bool>,
    /// A cgroup namespace: the sandbox sees its own cgroup as the root.
    pub cgroup: Option<bool>,
    /// A time namespace (clock offsets in `time-offsets`).
    pub time: Option<bool>,
    /// uid map of the user namespace. Default: the caller mapped to `process.user`.
    /// More than one entry needs `newuidmap` (package `uidmap`) unless running as root.
    pub uid_map: Option<Vec<IdMapEntry>>,
    /// gid map of the user namespace. Default: the caller's gid mapped to `process.group`.
    pub gid_map: Option<Vec<IdMapEntry>>,
    /// Clock offsets of the time namespace, in seconds.
    pub time_offsets: Option<TimeOffsets>,
}

/// One range of a uid or gid map.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IdMapEntry {
    /// First id inside the sandbox.
    pub inside: IntOrString,
    /// First id outside (on the host), e.g. `${UID}`.
    pub outside: IntOrString,
    /// Number of ids in the range. Default: 1.
    pub count: Option<u32>,
}

/// Offsets of the time namespace's clocks relative to the host's.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimeOffsets {
    /// Offset of CLOCK_MONOTONIC, in seconds (may be negative).
    pub monotonic: Option<i64>,
    /// Offset of CLOCK_BOOTTIME, in seconds (may be negative).
    pub boottime: Option<i64>,
}

/// Network access of the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    /// `none`: a network namespace of its own with only loopback up (implies
    /// `namespaces.net`). `host`: the host's network (no network namespace). `proxy`: a
    /// network namespace of its own with only loopback, plus an HTTP/HTTPS proxy, a SOCKS5h
    /// proxy and a DNS stub on the sandbox's 127.0.0.1 that reach only the hosts in `allow`.
    pub mode: Option<NetworkMode>,
    /// With `mode = "proxy"`: the hosts the sandbox may connect to. Each entry is a host
    /// name (`registry.npmjs.org`) or `*.` and a suffix (`*.crates.io`: any name below
    /// `crates.io`, not `crates.io` itself), optionally with `:PORT` (default 443; plain
    /// HTTP needs an explicit `:80`). IP addresses are refused. HTTPS is tunnelled end to
    /// end (no interception): the TLS server name must equal the requested host. Names
    /// that resolve to loopback, private, link-local, CGNAT or metadata addresses are
    /// refused. Lists from `extends` accumulate.
    pub allow: Option<Vec<String>>,
}

/// Network mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// Own network namespace, loopback only.
    None,
    /// The host's network.
    Host,
    /// Own network namespace, loopback only, egress through stockade's proxy to the
    /// hosts in `network.allow`.
    Proxy,
}
