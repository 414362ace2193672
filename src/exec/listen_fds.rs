//! Socket activation: the listening sockets systemd passed to stockade go to the payload.
//!
//! systemd passes them as fds 3..3+LISTEN_FDS with `LISTEN_PID` naming the process they are
//! meant for. The compiler decided from `LISTEN_FDS` (see `compile::systemd`); this module
//! checks at run time what the compiler cannot know, before anything else is opened:
//!
//! * `LISTEN_PID` is stockade's own pid (like sd_listen_fds(3)): otherwise the sockets were
//!   meant for some other process (a shell that forked stockade) and must not be taken;
//! * every fd 3..3+N is open, and its close-on-exec flag is cleared so it survives execve.
//!
//! The child keeps exactly these fds (every other inherited fd is closed, see
//! `identity::close_inherited_fds`), the launch pipes are placed above them
//! (`spawn::pipe_above`), and `LISTEN_PID` is written with the payload's own pid just before
//! execve (1 as PID 1, 2 under stockade's init, the host pid without a PID namespace).

use crate::plan::ListenFds;
use std::os::fd::RawFd;

/// The first socket-activation fd (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: RawFd = 3;

/// Socket-activation fds that cannot be passed on.
#[derive(Debug, thiserror::Error)]
pub enum ListenFdsError {
    #[error(
        "LISTEN_FDS is set but LISTEN_PID is {found}, not stockade's pid {pid}: the sockets \
         were passed to another process (run stockade itself as ExecStart=, or set \
         `systemd.listen-fds = \"off\"`)"
    )]
    WrongPid { found: String, pid: libc::pid_t },
    #[error("LISTEN_FDS={count}: fd {fd} is not open ({errno})")]
    NotOpen {
        count: u32,
        fd: RawFd,
        errno: nix::errno::Errno,
    },
    #[error("socket activation: fcntl(2) F_SETFD on fd {fd}: {errno}")]
    Fcntl { fd: RawFd, errno: nix::errno::Errno },
}

/// Check the plan's socket-activation fds against this process and make them inheritable.
/// Returns how many fds the child keeps from [`FIRST_FD`] on (0 without socket activation).
pub fn prepare(listen: Option<&ListenFds>) -> Result<u32, ListenFdsError> {
    let Some(l) = listen else {
        return Ok(0);
    };
    let found = std::env::var("LISTEN_PID").unwrap_or_default();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    prepare_at(FIRST_FD, l.count, &found, pid)?;
    Ok(l.count)
}

/// [`prepare`] for fds `first..first+count` and an explicit `LISTEN_PID` value.
fn prepare_at(
    first: RawFd,
    count: u32,
    listen_pid: &str,
    pid: libc::pid_t,
) -> Result<(), ListenFdsError> {
    if listen_pid.trim().parse::<libc::pid_t>().ok() != Some(pid) {
        return Err(ListenFdsError::WrongPid {
            found: if listen_pid.is_empty() {
                "unset".into()
            } else {
                format!("{listen_pid:?}")
            },
            pid,
        });
    }
    for i in 0..count {
        let fd = first + i as RawFd;
        // SAFETY: fcntl on an integer fd; failure is reported through errno.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(ListenFdsError::NotOpen {
                count,
                fd,
                errno: nix::errno::Errno::last(),
            });
        }
        if flags & libc::FD_CLOEXEC != 0 {
            // SAFETY: as above.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
                return Err(ListenFdsError::Fcntl {
                    fd,
                    errno: nix::errno::Errno::last(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// A pipe placed at fds `first` and `first+1` (close-on-exec), far above anything the
    /// test harness opens, so tests running in parallel do not collide.
    fn pipe_at_high_fds(first: RawFd) -> (OwnedFd, OwnedFd, RawFd) {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        // SAFETY: dup3 onto unused high fds; the results are owned below.
        let (hr, hw) = unsafe {
            (
                libc::dup3(r.as_raw_fd(), first, libc::O_CLOEXEC),
                libc::dup3(w.as_raw_fd(), first + 1, libc::O_CLOEXEC),
            )
        };
        assert_eq!((hr, hw), (first, first + 1));
        // SAFETY: fresh descriptors owned by the test.
        unsafe { (OwnedFd::from_raw_fd(hr), OwnedFd::from_raw_fd(hw), first) }
    }

    #[test]
    fn wrong_or_missing_listen_pid_is_refused() {
        let (_r, _w, first) = pipe_at_high_fds(700);
        let e = prepare_at(first, 2, "1", 4242).unwrap_err();
        assert!(
            matches!(e, ListenFdsError::WrongPid { pid: 4242, .. }),
            "{e}"
        );
        let e = prepare_at(first, 2, "", 4242).unwrap_err();
        assert!(e.to_string().contains("LISTEN_PID is unset"), "{e}");
    }

    #[test]
    fn clears_cloexec_on_the_passed_fds() {
        let (r, w, first) = pipe_at_high_fds(710);
        prepare_at(first, 2, "4242", 4242).unwrap();
        for fd in [r.as_raw_fd(), w.as_raw_fd()] {
            // SAFETY: fcntl on fds the test owns.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, 0, "fd {fd} still close-on-exec");
        }
    }

    #[test]
    fn a_closed_fd_in_the_range_is_an_error() {
        let (r, w, first) = pipe_at_high_fds(720);
        drop(w);
        let e = prepare_at(first, 2, "7", 7).unwrap_err();
        assert!(
            matches!(e, ListenFdsError::NotOpen { fd, .. } if fd == first + 1),
            "{e}"
        );
        drop(r);
    }
}
