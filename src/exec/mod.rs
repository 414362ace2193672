//! The native executor. PLACEHOLDER until the executor lands: same entry points.

pub mod confine;
pub mod listen_fds;
pub mod notify;

use crate::host::HostFacts;
use crate::plan::Plan;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub report_path: Option<PathBuf>,
    pub report_fd: Option<RawFd>,
}

/// How the payload ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub exit_code: i32,
}

/// Launcher failures.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the executor is not built yet")]
    NotBuilt,
}

impl ExecError {
    pub fn exit_code(&self) -> i32 {
        125
    }
}

/// Run a plan.
pub fn run(_plan: &Plan, _host: &HostFacts, _opts: &RunOptions) -> Result<RunOutcome, ExecError> {
    Err(ExecError::NotBuilt)
}
