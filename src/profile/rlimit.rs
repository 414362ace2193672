//! `[rlimits]`: setrlimit(2) values.

use super::RlimitValue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Resource limits, each an integer (soft = hard), `"unlimited"`, `"host"` (the caller's
/// hard limit: as high as the sandbox can go wherever it runs), or `{ soft, hard }`. A hard
/// limit above the caller's is an error at `check` unless the caller has CAP_SYS_RESOURCE
/// and the sandbox no user namespace (setrlimit would fail with EPERM).
/// Sizes (`as`, `core`, `data`, `fsize`, `memlock`, `msgqueue`, `rss`, `stack`) accept
/// `"64MiB"`; `cpu` is seconds; `rttime` microseconds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rlimits {
    /// RLIMIT_AS: address space size.
    #[serde(rename = "as")]
    pub as_: Option<RlimitValue>,
    /// RLIMIT_CORE: core file size.
    pub core: Option<RlimitValue>,
    /// RLIMIT_CPU: CPU time in seconds.
    pub cpu: Option<RlimitValue>,
    /// RLIMIT_DATA: data segment size.
    pub data: Option<RlimitValue>,
    /// RLIMIT_FSIZE: largest file the payload may create.
    pub fsize: Option<RlimitValue>,
    /// RLIMIT_LOCKS: number of file locks.
    pub locks: Option<RlimitValue>,
    /// RLIMIT_MEMLOCK: locked memory.
    pub memlock: Option<RlimitValue>,
    /// RLIMIT_MSGQUEUE: bytes in POSIX message queues.
    pub msgqueue: Option<RlimitValue>,
    /// RLIMIT_NICE: ceiling of the nice value (20 - limit).
    pub nice: Option<RlimitValue>,
    /// RLIMIT_NOFILE: open file descriptors.
    pub nofile: Option<RlimitValue>,
    /// RLIMIT_NPROC: processes of the real uid.
    pub nproc: Option<RlimitValue>,
    /// RLIMIT_RSS: resident set size (ignored by modern kernels).
    pub rss: Option<RlimitValue>,
    /// RLIMIT_RTPRIO: real-time priority ceiling.
    pub rtprio: Option<RlimitValue>,
    /// RLIMIT_RTTIME: real-time CPU time in microseconds.
    pub rttime: Option<RlimitValue>,
    /// RLIMIT_SIGPENDING: queued signals.
    pub sigpending: Option<RlimitValue>,
    /// RLIMIT_STACK: stack size.
    pub stack: Option<RlimitValue>,
}
