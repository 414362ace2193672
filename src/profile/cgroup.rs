//! `[resources]`: cgroup limits.

use super::{Cores, IntOrString};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// cgroup limits of the sandbox. cgroup v2 is used where available, v1 otherwise.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resources {
    /// `required` (default): fail before starting when a limit cannot be enforced.
    /// `best-effort`: warn, run, and list what was not enforced in the run report.
    pub compat: Option<super::landlock::Compat>,
    /// Hard memory limit (memory.max), e.g. `"512MiB"`, `"2G"` (1024-based), bytes.
    pub memory: Option<IntOrString>,
    /// Memory throttling threshold (memory.high; cgroup v2 only).
    pub memory_high: Option<IntOrString>,
    /// Swap limit (memory.swap.max). `0` forbids swap.
    pub memory_swap: Option<IntOrString>,
    /// CPU bandwidth in cores, e.g. `0.5` or `1.5` (period 100 ms).
    pub cpu: Option<Cores>,
    /// CPU quota per period, in microseconds (instead of `cpu`).
    pub cpu_quota: Option<u64>,
    /// CPU period in microseconds. Default: 100000.
    pub cpu_period: Option<u64>,
    /// Relative CPU weight, 1..10000 (cgroup v2 cpu.weight; v1 shares are derived).
    pub cpu_weight: Option<u64>,
    /// Maximum number of processes and threads (pids.max).
    pub pids: Option<u64>,
    /// Relative IO weight, 1..10000 (io.weight).
    pub io_weight: Option<u64>,
    /// CPUs the sandbox may run on, e.g. `"0-1"`.
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the sandbox may use, e.g. `"0"`.
    pub cpuset_mems: Option<String>,
}
