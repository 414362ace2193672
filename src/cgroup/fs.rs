//! The seam between cgroup logic and the kernel: every file operation, signal and liveness
//! check the cgroup code makes goes through [`CgroupFs`]. [`HostFs`] is the real thing;
//! unit tests use a temp directory standing in for cgroupfs (see `testfs` in the tests).
//!
//! Why a trait and not just a root path: on real cgroupfs the knob files appear when the
//! kernel creates a directory, and writing a missing knob must fail (ENOENT means "that
//! controller is not enabled here"); a plain directory cannot behave like that.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

/// File and process operations used by the cgroup code.
pub trait CgroupFs: std::fmt::Debug + Send + Sync {
    /// Read a whole (small) file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Write `value` to an existing file in one write(2) (cgroupfs parses each write whole).
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    /// Create a directory (a new cgroup). EEXIST is an error: names are unique per run.
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// Remove an (empty) cgroup directory.
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    /// Whether the caller may write `path` (access(2) W_OK: honours EROFS and ownership).
    fn writable(&self, path: &Path) -> bool;
    /// Names of the sub-directories of `dir`.
    fn subdirs(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Open a directory for clone3(CLONE_INTO_CGROUP).
    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd>;
    /// Open an existing file for writing (O_CLOEXEC), for a write made later by another
    /// process (the child joining a v1 leaf through its `tasks` file).
    fn open_write(&self, path: &Path) -> io::Result<OwnedFd>;
    /// Send SIGKILL to `pid` (ESRCH is not an error: it is already gone).
    fn kill(&self, pid: i32) -> io::Result<()>;
    /// Whether process `pid` exists and started at `start_ticks` (field 22 of
    /// /proc/PID/stat). The start time guards against a recycled pid.
    fn process_alive(&self, pid: u32, start_ticks: u64) -> bool;
}

/// The real host: /sys/fs/cgroup, /proc, kill(2).
#[derive(Debug, Default, Clone, Copy)]
pub struct HostFs;

impl CgroupFs for HostFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        fs::read_to_string(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        // No O_CREAT and no O_TRUNC: cgroupfs knobs exist or the controller is not enabled.
        let mut f = OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    }

    fn mkdir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn writable(&self, path: &Path) -> bool {
        nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).is_ok()
    }

    fn subdirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                if let Ok(name) = entry.file_name().into_string() {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }

    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        use std::os::unix::fs::OpenOptionsExt;
        // Not O_PATH: the kernel's CLONE_INTO_CGROUP uses fdget(), which rejects O_PATH fds.
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)?;
        Ok(OwnedFd::from(f))
    }

    fn open_write(&self, path: &Path) -> io::Result<OwnedFd> {
        // std opens with O_CLOEXEC; no O_CREAT: a missing file means no such cgroup.
        Ok(OwnedFd::from(OpenOptions::new().write(true).open(path)?))
    }

    fn kill(&self, pid: i32) -> io::Result<()> {
        if pid <= 0 {
            // kill(0)/kill(-1) would signal our group or everything: never.
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        match nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        ) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(io::Error::from_raw_os_error(e as i32)),
        }
    }

    fn process_alive(&self, pid: u32, start_ticks: u64) -> bool {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => process_start_ticks(&stat) == Some(start_ticks),
            Err(_) => false,
        }
    }
}

/// Field 22 (starttime) of a /proc/PID/stat line. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after the last `)`.
pub fn process_start_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After ')' come fields 3.. ; starttime is field 22, i.e. the 20th one here.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The start time of the calling process.
pub fn own_start_ticks() -> u64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| process_start_ticks(&s))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_survive_odd_command_names() {
        let stat =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(process_start_ticks(stat), Some(987654));
        assert_eq!(process_start_ticks("garbage"), None);
    }

    #[test]
    fn own_start_time_matches_liveness_check() {
        let me = std::process::id();
        assert!(HostFs.process_alive(me, own_start_ticks()));
        assert!(!HostFs.process_alive(me, own_start_ticks() + 1));
    }

    #[test]
    fn kill_refuses_group_pids() {
        assert!(HostFs.kill(0).is_err());
        assert!(HostFs.kill(-1).is_err());
    }
}
