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
    /// `namespaces.net`). `host`: the host's network (no network namespace).
    pub mode: Option<NetworkMode>,
}

/// Network mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// Own network namespace, loopback only.
    None,
    /// The host's network.
    Host,
}
