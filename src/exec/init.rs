//! The tiny init that runs as PID 1 of the sandbox's PID namespace.
//!
//! A PID 1 must reap orphans (or they pile up as zombies) and gets no default signal
//! actions (a SIGTERM without a handler is ignored), so most programs misbehave as PID 1.
//! This init forwards the signals meant for the payload (`exec::forward`), reaps every child, and
//! exits with the payload's status once the payload is gone; the kernel then kills what
//! is left in the namespace. It never allocates.

use super::supervisor::{forwarded_signals, status_to_exit_code};
use super::sys;
use std::os::fd::RawFd;

/// Run init for `payload`; reports the payload's raw wait status on `status_w`.
pub fn run(payload: libc::pid_t, status_w: RawFd) -> ! {
    // Init was made non-dumpable before the payload started (child::start_init).
    // The supervisor blocked these before clone; they stay blocked here and are taken
    // synchronously with sigwaitinfo.
    let mut set = forwarded_signals();
    // SAFETY: set is an initialized sigset.
    unsafe {
        libc::sigaddset(&mut set, libc::SIGCHLD);
    }
    loop {
        // SAFETY: set is initialized; info is plain data.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
        if sig < 0 {
            continue;
        }
        if sig != libc::SIGCHLD {
            // One delivery per signal: what came straight from outside the namespace
            // (systemd's cgroup-wide kill) reached the payload too (see exec::forward).
            if super::forward::init_should_forward(&info) {
                // SAFETY: kill with integer arguments.
                unsafe {
                    libc::kill(payload, sig);
                }
            }
            continue;
        }
        loop {
            let mut status = 0;
            // SAFETY: status is a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == payload {
                if status_w >= 0 {
                    let _ = sys::write_all(status_w, &status.to_ne_bytes());
                }
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(status_to_exit_code(status)) }
            }
        }
    }
}
