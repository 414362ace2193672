//! The tiny init: PID 1 of the sandbox's PID namespace, or, without one, the sandbox's
//! keeper.
//!
//! A PID 1 must reap orphans (or they pile up as zombies) and gets no default signal
//! actions (a SIGTERM without a handler is ignored), so most programs misbehave as PID 1.
//! This init forwards the signals meant for the payload (`exec::forward`), reaps every child, and
//! exits with the payload's status once the payload is gone; the kernel then kills what
//! is left in the namespace. It never allocates.
//!
//! Job control: with `new-session` the payload leads its own process group in init's
//! session, and init sends the terminal's signals (`forward::is_job_control`) to that whole
//! group; it reports the payload's stops to the supervisor, which stops with it.
//!
//! Without a PID namespace the kernel kills nothing when init exits, and a SIGKILLed
//! supervisor takes only its direct child with it (PR_SET_PDEATHSIG). So init is the
//! subreaper of the payload's tree (every orphan comes back to it) and, before it exits,
//! kills whatever is left: when the payload exits, when the supervisor asks for the whole
//! sandbox to be killed, and when the supervisor dies (announced by a catchable
//! parent-death signal, confirmed by the supervisor's end of the sync pipe closing).

use super::forward::{keeper_should_forward, KeeperRequest};
use super::supervisor::{forwarded_signals, status_to_exit_code};
use super::sys;
use std::os::fd::RawFd;

/// What init needs to keep a sandbox that has no PID namespace.
#[derive(Debug, Clone, Copy)]
pub struct Keeper {
    /// `/proc/thread-self/children` of this process.
    pub children: RawFd,
    /// The child's end of the sync pipe: POLLHUP once the supervisor is gone.
    pub supervisor: RawFd,
    /// Kill the sandbox when the supervisor dies (`process.die-with-parent`).
    pub die_with_parent: bool,
}

impl Keeper {
    fn supervisor_gone(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.supervisor,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n > 0 && p.revents & libc::POLLHUP != 0
    }

    /// SIGKILL every child (orphans of the payload included: they were reparented here)
    /// and reap, until none is left; a killed child's own children come back to us and are
    /// killed in the next round. Returns the payload's wait status if it was reaped here.
    fn kill_everything(&self, payload: libc::pid_t) -> Option<libc::c_int> {
        let mut payload_status = None;
        loop {
            self.kill_listed_children();
            let mut status = 0;
            // SAFETY: status is a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid == payload {
                payload_status = Some(status);
            }
            if pid < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                // ECHILD: nothing is left.
                return payload_status;
            }
        }
    }

    fn kill_listed_children(&self) {
        let mut buf = [0u8; 4096];
        // SAFETY: a stack buffer and its length; offset 0 makes the seq_file list afresh.
        let n = unsafe { libc::pread(self.children, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let Ok(n) = usize::try_from(n) else { return };
        let mut pid: libc::pid_t = 0;
        // Each pid is followed by a space; a pid cut off by a full buffer is not followed
        // by one and is left for the next round.
        for &b in &buf[..n] {
            match b {
                b'0'..=b'9' => pid = pid.saturating_mul(10).saturating_add(i32::from(b - b'0')),
                _ => {
                    if pid > 0 {
                        // SAFETY: kill with integer arguments.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    pid = 0;
                }
            }
        }
    }
}

/// Send `sig` to the payload: to its whole process group for the job-control signals when
/// it leads one (`job_group`), as a terminal would, else (or when it left that group) to
/// the payload alone. Async-signal-safe.
fn signal_payload(payload: libc::pid_t, sig: libc::c_int, job_group: bool) {
    // SAFETY: kill with integer arguments.
    unsafe {
        if job_group && super::forward::is_job_control(sig) && libc::kill(-payload, sig) == 0 {
            return;
        }
        libc::kill(payload, sig);
    }
}

/// Tell the supervisor the payload stopped (a wait status with WIFSTOPPED), so that it
/// stops too when it is a job of an interactive shell. Never blocks: a supervisor that
/// is itself stopped must not hold init up; a report lost to a full pipe costs only that.
fn report_stop(status_w: RawFd, status: libc::c_int) {
    if status_w < 0 {
        return;
    }
    // SAFETY: fcntl on our own end of the pipe (no other process shares this description:
    // the supervisor closed its copy after clone); write from a live buffer.
    unsafe {
        let fl = libc::fcntl(status_w, libc::F_GETFL);
        libc::fcntl(status_w, libc::F_SETFL, fl | libc::O_NONBLOCK);
        libc::write(status_w, status.to_ne_bytes().as_ptr().cast(), 4);
        libc::fcntl(status_w, libc::F_SETFL, fl);
    }
}

/// Run init for `payload`; reports the payload's stops and, last, its raw wait status on
/// `status_w`. `job_group`: the payload leads its own process group (see
/// [`signal_payload`]); `shares_terminal`: `new-session = false`, the payload got the
/// terminal's signals itself (see `forward::from_terminal`).
pub fn run(
    payload: libc::pid_t,
    status_w: RawFd,
    keeper: Option<Keeper>,
    job_group: bool,
    shares_terminal: bool,
) -> ! {
    // Init was made non-dumpable before the payload started (child::start_init).
    // The supervisor blocked these before clone; they stay blocked here and are taken
    // synchronously with sigwaitinfo.
    let mut set = forwarded_signals();
    // SAFETY: set is an initialized sigset.
    unsafe {
        libc::sigaddset(&mut set, libc::SIGCHLD);
    }
    let report_and_exit = |status: libc::c_int| -> ! {
        if status_w >= 0 {
            let _ = sys::write_all(status_w, &status.to_ne_bytes());
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(status_to_exit_code(status)) }
    };
    let mut payload_status = None;
    loop {
        // SAFETY: set is initialized; info is plain data.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
        if let Some(k) = &keeper {
            // Whatever woke us: a supervisor that died leaves nobody to clean up but us.
            if k.die_with_parent && k.supervisor_gone() {
                k.kill_everything(payload);
                // SAFETY: as above; nobody is left to read a status.
                unsafe { libc::_exit(super::error::EXIT_SETUP_FAILURE) }
            }
        }
        if sig < 0 {
            continue;
        }
        if sig != libc::SIGCHLD && shares_terminal && super::forward::from_terminal(sig, &info) {
            continue;
        }
        if sig != libc::SIGCHLD {
            match &keeper {
                None => {
                    // One delivery per signal: what came straight from outside the
                    // namespace (systemd's cgroup-wide kill) reached the payload too.
                    if super::forward::init_should_forward(&info) {
                        signal_payload(payload, sig, job_group);
                    }
                }
                Some(k) => match keeper_should_forward(&info) {
                    KeeperRequest::Forward => signal_payload(payload, sig, job_group),
                    KeeperRequest::KillAll => {
                        let status = k.kill_everything(payload).or(payload_status);
                        report_and_exit(status.unwrap_or(libc::SIGKILL));
                    }
                    KeeperRequest::Ignore => {}
                },
            }
            continue;
        }
        loop {
            let mut status = 0;
            // SAFETY: status is a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::WUNTRACED) };
            if pid <= 0 {
                break;
            }
            if pid == payload && libc::WIFSTOPPED(status) {
                report_stop(status_w, status);
            } else if pid == payload {
                payload_status = Some(status);
            }
        }
        if let Some(status) = payload_status {
            // The payload is gone: in a PID namespace the kernel kills the rest when we
            // exit; without one, the keeper does it first.
            if let Some(k) = &keeper {
                k.kill_everything(payload);
            }
            report_and_exit(status);
        }
    }
}
