//! The run report (`--report FILE`, `--report-fd N`): what was enforced, what was skipped,
//! how and why the sandbox ended, and how long each part took. Later subsystems (cgroup
//! outcome, Landlock status) have their own optional sections.

use crate::cgroup::CgroupOutcome;
use crate::exec::confine::LandlockStatus;
use serde::Serialize;
use std::io::Write;
use std::os::fd::{FromRawFd, RawFd};
use std::path::Path;

/// Schema version of the report.
pub const REPORT_VERSION: u32 = 1;

/// Why the sandbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitCause {
    /// The payload exited with a code.
    Exit,
    /// The payload was killed by a signal.
    Signal,
    /// The wall-time limit expired and the sandbox was stopped.
    Timeout,
    /// The kernel OOM killer killed the payload (cgroup memory limit).
    OomKill,
    /// Setup failed before the payload ran (or the command could not be executed).
    SetupFailure,
}

/// How the sandbox ended.
#[derive(Debug, Clone, Serialize)]
pub struct ExitReport {
    pub cause: ExitCause,
    /// stockade's own exit status.
    pub exit_code: i32,
    /// The payload's exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that killed the payload.
    pub signal: Option<i32>,
    /// The error, for a setup failure.
    pub error: Option<String>,
}

/// Wall-clock durations in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Durations {
    /// From the start of `run` to the payload's execve.
    pub setup_ms: f64,
    /// From execve to the payload's end.
    pub payload_ms: Option<f64>,
    pub total_ms: f64,
}

/// The timeout section.
#[derive(Debug, Clone, Serialize)]
pub struct TimeoutReport {
    pub limit_ms: u64,
    pub fired: bool,
    pub kill_signal: String,
    /// The sandbox outlived the grace period and was SIGKILLed.
    pub killed_after_grace: bool,
}

/// Something the plan asked for that was not enforced (best-effort or optional).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub setting: String,
    pub reason: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub version: u32,
    pub profile: String,
    pub command: Vec<String>,
    pub namespaces: Vec<&'static str>,
    /// The steps carried out, in order, as `stockade plan` describes them.
    pub enforced: Vec<String>,
    pub skipped: Vec<Skipped>,
    pub exit: ExitReport,
    pub durations: Durations,
    pub timeout: Option<TimeoutReport>,
    /// Filled by the Landlock step.
    pub landlock: Option<LandlockStatus>,
    /// Filled when the plan has a cgroup.
    pub cgroup: Option<CgroupOutcome>,
    /// `network.mode = "proxy"`: every connection the proxy decided on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkReport>,
}

/// The proxy's decisions (`crate::net::Decision` as JSON), with counts.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkReport {
    pub allowed: usize,
    pub denied: usize,
    pub connections: Vec<serde_json::Value>,
}

impl NetworkReport {
    pub fn new(connections: Vec<serde_json::Value>) -> NetworkReport {
        let allowed = connections
            .iter()
            .filter(|c| c["verdict"] == "allowed")
            .count();
        NetworkReport {
            allowed,
            denied: connections.len() - allowed,
            connections,
        }
    }
}

impl RunReport {
    /// Serialize to `path` (created 0600) and/or `fd`.
    pub fn write(&self, path: Option<&Path>, fd: Option<RawFd>) -> std::io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        json.push(b'\n');
        if let Some(p) = path {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)?;
            f.write_all(&json)?;
        }
        if let Some(fd) = fd {
            // SAFETY: the caller handed us this fd for the report; ManuallyDrop leaves it
            // open for them.
            let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
            f.write_all(&json)?;
        }
        Ok(())
    }
}
