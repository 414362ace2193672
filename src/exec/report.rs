//! The run report (`--report FILE`, `--report-fd N`): what was enforced, what was skipped,
//! how and why the sandbox ended, and how long each part took. Later subsystems (cgroup
//! outcome, Landlock status) have their own optional sections.

use crate::cgroup::CgroupOutcome;
use crate::exec::confine::LandlockStatus;
use crate::exec::ExecError;
use serde::Serialize;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
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

/// The `--report FILE` target, opened once before the clone and written through its fd.
///
/// The report is written after the payload ran, and the payload may be able to write the
/// directory that holds the file (`--report run.json` from a project directory that
/// builtin:strict binds read-write). Opening by path at that point would follow whatever
/// the payload planted there (a symlink to a victim file, a FIFO that blocks the
/// supervisor). So the file is opened before anything runs, without following a symlink,
/// without blocking, and refused unless it is a regular file with a single link that the
/// caller owns; it is truncated only after those checks.
#[derive(Debug)]
pub struct ReportFile {
    path: std::path::PathBuf,
    file: std::fs::File,
}

/// Open (or create, mode 0600) the report file; see [`ReportFile`].
pub fn open_report_file(path: &Path) -> Result<ReportFile, ExecError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let refuse = |reason: String| ExecError::ReportFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            refuse(match e.raw_os_error() {
                Some(libc::ELOOP) => "is a symbolic link; refusing to follow it (for \
                                      standard output or another open file, use \
                                      `--report-fd N`)"
                    .into(),
                Some(libc::EISDIR) => "is a directory, not a regular file".into(),
                // O_NONBLOCK|O_WRONLY on a FIFO without a reader.
                Some(libc::ENXIO) => "is a FIFO or socket, not a regular file".into(),
                _ => format!("cannot open it: {e}"),
            })
        })?;
    let meta = file.metadata().map_err(|e| refuse(format!("fstat: {e}")))?;
    if !meta.file_type().is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    if meta.nlink() > 1 {
        return Err(refuse(format!(
            "has {} hard links; it may be another file under a second name",
            meta.nlink()
        )));
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(refuse(format!(
            "belongs to uid {}, not to the caller (uid {euid})",
            meta.uid()
        )));
    }
    // Blocking writes from here on; the checks passed, so truncating is safe.
    // SAFETY: F_GETFL/F_SETFL on an fd we own.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        || unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0
    {
        return Err(refuse(format!(
            "fcntl: {}",
            std::io::Error::last_os_error()
        )));
    }
    file.set_len(0)
        .map_err(|e| refuse(format!("truncating it: {e}")))?;
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
        // Only a look, never a follow: warn when the name no longer leads to the file the
        // report went into (the payload renamed or replaced it).
        use std::os::unix::fs::MetadataExt;
        let ours = self.file.metadata()?;
        let now = std::fs::symlink_metadata(&self.path);
        if !now.is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino()) {
            crate::log::warn(&format!(
                "the report file {} was replaced during the run; the report went to the \
                 file opened before the run, which is no longer at that path",
                self.path.display()
            ));
        }
        Ok(())
    }
}
