//! The parent side of the launch: pipes, one clone3, id maps.

use super::error::{sys_err, ExecError};
use super::sys::{self, CloneArgs, CLONE_INTO_CGROUP};
use crate::plan::{IdMap, Plan};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// The launch pipes (all CLOEXEC). `status_*` exist only with init.
#[derive(Debug)]
pub struct Pipes {
    pub sync_r: RawFd,
    pub sync_w: RawFd,
    pub rec_r: RawFd,
    pub rec_w: RawFd,
    pub status_r: RawFd,
    pub status_w: RawFd,
}

impl Pipes {
    /// Close the child's ends in the parent.
    pub fn close_child_ends(&mut self) {
        for fd in [&mut self.sync_r, &mut self.rec_w, &mut self.status_w] {
            if *fd >= 0 {
                sys::close(*fd);
                *fd = -1;
            }
        }
    }

    /// Close everything still open.
    pub fn close_all(&mut self) {
        self.close_child_ends();
        for fd in [&mut self.sync_w, &mut self.rec_r, &mut self.status_r] {
            if *fd >= 0 {
                sys::close(*fd);
                *fd = -1;
            }
        }
    }
}

impl Drop for Pipes {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// pipe2(O_CLOEXEC) with both ends at or above `min_fd`, so they never collide with the
/// socket-activation fds 3..3+LISTEN_FDS that the child must keep.
fn pipe_above(min_fd: RawFd) -> Result<(RawFd, RawFd), ExecError> {
    let mut p = [0; 2];
    // SAFETY: p is a valid 2-int array.
    sys::cvt(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) })
        .map_err(sys_err("pipe2(2)"))?;
    for fd in &mut p {
        if *fd < min_fd {
            // SAFETY: duplicating an fd we own.
            let high = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, min_fd) };
            let r = sys::cvt(high).map_err(sys_err("fcntl(2)"));
            sys::close(*fd);
            *fd = r?;
        }
    }
    Ok((p[0], p[1]))
}

/// Create the pipes.
pub fn pipes(with_status: bool, listen_fds: u32) -> Result<Pipes, ExecError> {
    let min = 3 + listen_fds as RawFd;
    let mut p = Pipes {
        sync_r: -1,
        sync_w: -1,
        rec_r: -1,
        rec_w: -1,
        status_r: -1,
        status_w: -1,
    };
    (p.sync_r, p.sync_w) = pipe_above(min)?;
    (p.rec_r, p.rec_w) = pipe_above(min)?;
    if with_status {
        (p.status_r, p.status_w) = pipe_above(min)?;
    }
    Ok(p)
}

/// clone3 flags for the plan's namespaces. The cgroup and time namespaces are entered by
/// the child itself (after joining its cgroup, and so the clock offsets can be written).
pub fn clone_flags(plan: &Plan) -> u64 {
    let ns = &plan.namespaces;
    let mut f = 0;
    for (on, flag) in [
        (ns.user, libc::CLONE_NEWUSER),
        (ns.mount, libc::CLONE_NEWNS),
        (ns.pid, libc::CLONE_NEWPID),
        (ns.net, libc::CLONE_NEWNET),
        (ns.ipc, libc::CLONE_NEWIPC),
        (ns.uts, libc::CLONE_NEWUTS),
    ] {
        if on {
            f |= flag as u64;
        }
    }
    f
}

/// One clone3: returns 0 in the child, the pid in the parent.
///
/// # Safety
/// Single-threaded caller; the child must only run allocation-free, async-signal-safe
/// code (see `child`).
pub unsafe fn clone(flags: u64, cgroup_fd: Option<RawFd>) -> Result<libc::pid_t, ExecError> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    sys::clone3(&args).map_err(|errno| ExecError::Clone { errno })
}

fn map_text(map: &[IdMap]) -> String {
    map.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

fn write_proc(pid: libc::pid_t, file: &str, text: &str) -> Result<(), ExecError> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| ExecError::IdMap {
        path,
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })
}

fn helper(
    name: &'static str,
    key: &'static str,
    pid: libc::pid_t,
    map: &[IdMap],
) -> Result<(), ExecError> {
    let path = format!("/usr/bin/{name}");
    if !std::path::Path::new(&path).exists() {
        return Err(ExecError::HelperMissing { helper: name, key });
    }
    let mut cmd = std::process::Command::new(&path);
    cmd.arg(pid.to_string());
    for m in map {
        cmd.args([
            m.inside.to_string(),
            m.outside.to_string(),
            m.count.to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| ExecError::HelperFailed {
        helper: name,
        pid,
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ExecError::HelperFailed {
            helper: name,
            pid,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Write the child's uid/gid maps: setgroups=deny first when required (an unprivileged
/// writer must deny setgroups before gid_map), then uid_map, then gid_map. Multi-range
/// maps of an unprivileged caller go through the setuid helpers.
pub fn write_id_maps(
    pid: libc::pid_t,
    plan: &Plan,
    setgroups_denied: bool,
) -> Result<(), ExecError> {
    let ns = &plan.namespaces;
    if setgroups_denied {
        write_proc(pid, "setgroups", "deny")?;
    }
    if ns.uid_map_helper {
        helper("newuidmap", "namespaces.uid-map", pid, &ns.uid_map)?;
    } else {
        write_proc(pid, "uid_map", &map_text(&ns.uid_map))?;
    }
    if ns.gid_map_helper {
        helper("newgidmap", "namespaces.gid-map", pid, &ns.gid_map)?;
    } else {
        write_proc(pid, "gid_map", &map_text(&ns.gid_map))?;
    }
    Ok(())
}

/// SIGKILL and reap a child the launch is abandoning.
pub fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: kill/waitpid with integer arguments and a valid out pointer.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && Errno::last() == Errno::EINTR {}
    }
}
