//! cgroup v1: the child joins its leaves itself, right after clone.
//!
//! Why not the parent writing the child's pid into `cgroup.procs` of each hierarchy: on
//! v1 that write takes `cgroup_threadgroup_rwsem` for writing, and a percpu rwsem taken
//! for writing after an idle gap first waits for an RCU grace period (measured here: 5 to
//! 15 ms for the first of the three writes, the long tail of a cgroup launch). The kernel
//! skips that lock for one case only: a task moving *itself*, i.e. `0` written to the
//! `tasks` file (cgroup_procs_write_start: "if the thread is current, it won't exit(2)
//! under our hands", so no threadgroup stability is needed). Measured: ~0.04 ms for all
//! three hierarchies.
//!
//! Moving the calling thread is moving the whole process here: the child of clone has
//! exactly one thread, and everything it forks later (init, the payload) inherits the
//! leaves. The permission check of a v1 `tasks` write uses the credentials of whoever
//! opened the file, so the supervisor opens the files (before clone, O_CLOEXEC) and the
//! child only writes to the inherited descriptors: a plain syscall, no path lookup and
//! no allocation after clone.

use super::fs::CgroupFs;
use std::os::fd::{AsRawFd, OwnedFd};

/// Open `tasks` files of every v1 leaf, for the child to write `0` into.
#[derive(Debug)]
pub struct SelfJoin {
    tasks: Vec<OwnedFd>,
}

impl SelfJoin {
    /// Open the `tasks` file of each leaf directory. None when any cannot be opened (the
    /// caller then attaches the child from the parent, as before).
    pub fn open(fs: &dyn CgroupFs, leaves: &[std::path::PathBuf]) -> Option<SelfJoin> {
        if leaves.is_empty() {
            return None;
        }
        let tasks = leaves
            .iter()
            .map(|l| fs.open_write(&l.join("tasks")))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(SelfJoin { tasks })
    }

    /// The descriptors, in leaf order (tests, and callers that must keep them open).
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.tasks.iter().map(AsRawFd::as_raw_fd)
    }

    /// In the child after clone, before anything else: move the calling (only) thread
    /// into every leaf. Only write(2) calls; returns the errno of the first failure.
    pub fn enter(&self) -> Result<(), i32> {
        for fd in &self.tasks {
            loop {
                // SAFETY: writing one byte from a static buffer to an fd we hold open.
                let n = unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
                if n == 1 {
                    break;
                }
                // SAFETY: reading errno of the calling thread.
                let errno = unsafe { *libc::__errno_location() };
                if n < 0 && errno == libc::EINTR {
                    continue;
                }
                return Err(if n < 0 { errno } else { libc::EIO });
            }
        }
        Ok(())
    }
}
