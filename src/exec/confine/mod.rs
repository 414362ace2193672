//! The lockdown phase: capabilities, no_new_privs, Landlock, rlimits, seccomp.
//!
//! Split into a parent half (compile the seccomp BPF, build everything that allocates) and a
//! child half that only makes syscalls. STUB: the confinement work implements it.

use crate::plan::{CapsPlan, LandlockPlan, RlimitPlan, SeccompPlan};
use serde::Serialize;

/// Errors preparing confinement in the parent.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("seccomp: {0}")]
    Seccomp(String),
}

/// A seccomp filter compiled to BPF in the parent, loaded by the child.
#[derive(Debug, Default)]
pub struct SeccompProgram {
    pub filter: Vec<libc::sock_filter>,
    pub log: bool,
}

/// Compile the filter (parent, before clone).
pub fn compile_seccomp(_plan: &SeccompPlan) -> Result<SeccompProgram, ConfineError> {
    Err(ConfineError::Seccomp("not implemented".into()))
}

impl SeccompProgram {
    /// Load the filter (child, last step before execve). No allocation.
    pub fn load(&self) -> Result<(), nix::Error> {
        Err(nix::Error::ENOSYS)
    }
}

/// Landlock result, sent from child to parent as fixed-size data for the run report.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LandlockStatus {
    /// 0 not enforced, 1 partially, 2 fully.
    pub ruleset: u8,
    /// Bit set of requested features the kernel did not enforce (see `landlock` module).
    pub missing: u64,
}

/// Apply the Landlock ruleset (child, after pivot_root and every mount change).
pub fn apply_landlock(_plan: &LandlockPlan) -> Result<LandlockStatus, nix::Error> {
    Err(nix::Error::ENOSYS)
}

/// Drop every capability not kept from the bounding set (child, CAP_SETPCAP still held).
pub fn drop_bounding_set(_plan: &CapsPlan, _cap_last_cap: u8) -> Result<(), nix::Error> {
    Err(nix::Error::ENOSYS)
}

/// Set effective/permitted/inheritable/ambient to the kept capabilities (child, after the
/// uid switch, which must have used PR_SET_KEEPCAPS).
pub fn set_capabilities(_plan: &CapsPlan) -> Result<(), nix::Error> {
    Err(nix::Error::ENOSYS)
}

/// Apply rlimits (child). `nofile` selects RLIMIT_NOFILE alone or everything else.
pub fn apply_rlimits(_limits: &[RlimitPlan], _nofile: bool) -> Result<(), nix::Error> {
    Err(nix::Error::ENOSYS)
}
