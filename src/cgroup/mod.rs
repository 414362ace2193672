//! cgroup management: layout detection, leaf creation, limits, attach, exit causes, usage,
//! cleanup. v2 first, v1 fallback. Takes the cgroup root as a path so tests can point it at
//! a temp dir. STUB: the resource-control work implements it.

use crate::plan::ResourcePlan;
use serde::Serialize;
use std::os::fd::RawFd;

/// Errors creating or managing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup support is not implemented yet")]
    Unsupported,
}

/// What the cgroup saw, for the run report and the exit message.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CgroupOutcome {
    pub oom_killed: bool,
    pub pids_limit_hit: bool,
    pub memory_peak: Option<u64>,
    pub cpu_user_us: Option<u64>,
    pub cpu_system_us: Option<u64>,
    pub throttled_periods: Option<u64>,
    pub throttled_us: Option<u64>,
}

/// A created cgroup leaf holding the sandbox.
#[derive(Debug)]
pub struct Cgroup {
    _private: (),
}

impl Cgroup {
    /// Create the leaf for a sandbox and write its limits. Returns the cgroup and what
    /// could not be enforced (only non-empty under `compat = "best-effort"`).
    pub fn create(_plan: &ResourcePlan) -> Result<(Cgroup, Vec<String>), CgroupError> {
        Err(CgroupError::Unsupported)
    }

    /// An O_DIRECTORY fd of the v2 leaf for clone3(CLONE_INTO_CGROUP); None on v1.
    pub fn clone_into_fd(&self) -> Option<RawFd> {
        None
    }

    /// Move `pid` into the cgroup (every v1 hierarchy, or the v2 leaf).
    pub fn attach(&self, _pid: i32) -> Result<(), CgroupError> {
        Err(CgroupError::Unsupported)
    }

    /// Read exit causes and usage (call after the payload ended, before `destroy`).
    pub fn outcome(&self) -> CgroupOutcome {
        CgroupOutcome::default()
    }

    /// Kill whatever is left, wait until empty, remove the leaf (every v1 hierarchy too).
    pub fn destroy(self) -> Result<(), CgroupError> {
        Ok(())
    }
}
