//! The run report (`--report FILE`, `--report-fd N`): what was enforced, what was skipped,
//! how and why the sandbox ended, and how long each part took. Later subsystems (cgroup
//! outcome, Landlock status) have their own optional sections.

use crate::cgroup::CgroupOutcome;
use crate::exec::confine::LandlockStatus;
use crate::exec::ExecError;
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
    /// The sd_notify relay ran (NOTIFY_SOCKET was set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyReport>,
}

/// What the sd_notify relay forwarded and what it held back (see `exec::notify`).
#[derive(Debug, Clone, Serialize)]
pub struct NotifyReport {
    /// Who could notify at the end: `main`, `all`, or `none` (after `NOTIFYACCESS=none`).
    pub access: &'static str,
    /// Messages sent to systemd.
    pub forwarded: u64,
    /// Messages dropped because their sender was not the payload's main process.
    pub refused_senders: u64,
    /// Keys removed from forwarded messages (not on the allow-list), by name.
    pub dropped_keys: std::collections::BTreeMap<String, u64>,
    /// File descriptors closed instead of forwarded (no `FDSTORE=1`).
    pub closed_fds: u64,
    /// Messages systemd did not take (gone, or not reading when the payload ended).
    pub undelivered: u64,
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
    /// Serialize to `file` (opened by [`open_report_file`] before the sandbox started)
    /// and/or the inherited `fd`.
    pub fn write(&self, file: Option<&ReportFile>, fd: Option<RawFd>) -> std::io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        json.push(b'\n');
        if let Some(f) = file {
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

/// The `--report FILE` target, opened once before the clone and written through its fd
/// (see [`super::host_output`] for why and how).
#[derive(Debug)]
pub struct ReportFile {
    path: std::path::PathBuf,
    file: std::fs::File,
}

/// Open (or create, mode 0600) the report file; see [`ReportFile`].
pub fn open_report_file(path: &Path) -> Result<ReportFile, ExecError> {
    let file = super::host_output::open(path, super::host_output::Existing::Truncate).map_err(
        |mut reason| {
            if reason.starts_with("is a symbolic link") {
                // `--report /dev/stdout` is the common case of a link that is meant.
                reason.push_str(" (for standard output or another open file, use `--report-fd N`)");
            }
            ExecError::ReportFile {
                path: path.to_path_buf(),
                reason,
            }
        },
    )?;
    Ok(ReportFile {
        path: path.to_path_buf(),
        file,
    })
}

impl ReportFile {
    /// Replace the file's content with `data`, through the fd opened before the run.
    fn write_all(&self, data: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.set_len(0)?;
        self.file.write_all_at(data, 0)?;
        super::host_output::warn_if_replaced(&self.path, &self.file, "report file");
        Ok(())
    }
}
