//! The supervisor: the parent after the payload started. It forwards signals, enforces
//! the wall-time limit, and turns the payload's end into an exit status.
//!
//! Signals are blocked (not handled) from before clone until the end, and taken with
//! sigtimedwait: no handler, no thread, no signal lost between clone and supervision.

use nix::errno::Errno;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Signals forwarded to the payload: every catchable, asynchronous signal. Not SIGKILL
/// and SIGSTOP (uncatchable), SIGCHLD (ours), nor the synchronous fault signals.
const FORWARDED: [libc::c_int; 20] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGURG,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGWINCH,
    libc::SIGIO,
    libc::SIGPWR,
];

/// The forwarded set, real-time signals included.
pub fn forwarded_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialize and modify a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        for s in libc::SIGRTMIN()..=libc::SIGRTMAX() {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn wait_set() -> libc::sigset_t {
    let mut set = forwarded_signals();
    // SAFETY: set is initialized.
    unsafe {
        libc::sigaddset(&mut set, libc::SIGCHLD);
    }
    set
}

/// Block the forwarded signals and SIGCHLD; returns the previous mask.
pub fn block_signals() -> libc::sigset_t {
    let set = wait_set();
    // SAFETY: both sets are valid; SIG_BLOCK cannot fail with valid arguments.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        old
    }
}

/// Restore the mask saved by [`block_signals`]. Signals still pending were meant for a
/// payload that is gone (a SIGINT racing its exit, the sandbox's last SIGCHLD): discard
/// them, or unblocking would kill stockade before it reports the payload's status.
pub fn restore_signals(old: &libc::sigset_t) {
    let set = wait_set();
    // SAFETY: a zero timeout makes sigtimedwait a non-blocking poll; both sets are valid.
    unsafe {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) > 0 {}
        libc::sigprocmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
    }
}

/// 128+N for a signal, the code for an exit (shell convention).
pub fn status_to_exit_code(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// The wall-time limit.
#[derive(Debug, Clone)]
pub struct Timeout {
    pub after: Duration,
    pub signal: libc::c_int,
    pub signal_name: String,
    pub grace: Duration,
}

/// What supervision saw.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// The payload's raw wait status (from init, else the direct child's).
    pub status: libc::c_int,
    /// The timeout fired.
    pub timed_out: bool,
    /// The grace period also expired and the sandbox was SIGKILLed.
    pub killed: bool,
}

enum Phase {
    Running,
    Signalled(Instant),
    /// The whole sandbox is being killed; a keeper was asked to at this instant.
    Killed(Option<Instant>),
}

/// How long a keeper (init without a PID namespace) may take to kill the sandbox on request
/// before the supervisor kills it and the payload's process group itself.
const KEEPER_KILL_DEADLINE: Duration = Duration::from_secs(2);

/// Supervise `child` until it is gone.
pub fn supervise(
    child: libc::pid_t,
    started: Instant,
    timeout: Option<&Timeout>,
    whole_group: bool,
    status_r: RawFd,
    forwarder: &super::forward::Forwarder,
    mut relay: Option<&mut super::notify::NotifyRelay>,
) -> Ended {
    let set = wait_set();
    let mut phase = Phase::Running;
    let mut timed_out = false;
    let mut killed = false;
    let hard_kill = || {
        // SAFETY: kill with integer arguments. Outside a PID namespace the sandbox is the
        // child's process group (it called setsid); inside one, killing PID 1 kills all.
        unsafe {
            if whole_group {
                libc::kill(-child, libc::SIGKILL);
            }
            libc::kill(child, libc::SIGKILL);
        }
    };
    // A keeper kills the payload's orphans too, wherever they moved (other process groups,
    // sessions); SIGKILLing it would leave them to the host's init.
    let kill_all = || -> Phase {
        if forwarder.ask_keeper_to_kill_all() {
            Phase::Killed(Some(Instant::now()))
        } else {
            hard_kill();
            Phase::Killed(None)
        }
    };
    let status = loop {
        let mut st = 0;
        // SAFETY: st is a valid out pointer.
        let r = unsafe { libc::waitpid(child, &mut st, libc::WNOHANG) };
        if r == child || (r < 0 && Errno::last() == Errno::ECHILD) {
            break st;
        }
        let wait = match (&phase, timeout) {
            (Phase::Running, Some(t)) => {
                Some((started + t.after).saturating_duration_since(Instant::now()))
            }
            (Phase::Signalled(at), Some(t)) => {
                Some((*at + t.grace).saturating_duration_since(Instant::now()))
            }
            (Phase::Killed(Some(at)), _) => {
                Some((*at + KEEPER_KILL_DEADLINE).saturating_duration_since(Instant::now()))
            }
            _ => None,
        };
        // sigtimedwait that also relays sd_notify messages while waiting.
        // SAFETY: siginfo_t is plain data.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = super::notify::sigtimedwait_relaying(&set, &mut info, wait, relay.as_deref_mut());
        if sig < 0 {
            if Errno::last() != Errno::EAGAIN {
                continue;
            }
            if let Phase::Killed(Some(_)) = phase {
                crate::log::warn("the sandbox's init did not kill the sandbox in time; killing it");
                hard_kill();
                phase = Phase::Killed(None);
                continue;
            }
            let Some(t) = timeout else { continue };
            match phase {
                Phase::Running => {
                    timed_out = true;
                    crate::log::warn(&format!(
                        "timeout: the sandbox ran for {}; sending {} to the payload",
                        humantime::format_duration(t.after),
                        t.signal_name
                    ));
                    forwarder.send(t.signal);
                    if t.signal == libc::SIGKILL {
                        phase = kill_all();
                        killed = true;
                    } else {
                        phase = Phase::Signalled(Instant::now());
                    }
                }
                Phase::Signalled(_) => {
                    crate::log::warn(&format!(
                        "timeout: still running {} after {}; killing the whole sandbox (SIGKILL)",
                        humantime::format_duration(t.grace),
                        t.signal_name
                    ));
                    phase = kill_all();
                    killed = true;
                }
                Phase::Killed(_) => {}
            }
            continue;
        }
        if sig != libc::SIGCHLD {
            forwarder.forward(sig, &info);
        }
    };
    let mut status = status;
    if status_r >= 0 {
        let mut b = [0u8; 4];
        // SAFETY: b is a valid 4-byte buffer. Every writer is gone once init is reaped.
        let n = unsafe { libc::read(status_r, b.as_mut_ptr().cast(), 4) };
        if n == 4 {
            status = libc::c_int::from_ne_bytes(b);
        }
    }
    Ended {
        status,
        timed_out,
        killed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        // Raw wait statuses: exit code in bits 8..16, terminating signal in bits 0..7.
        assert_eq!(status_to_exit_code(0), 0);
        assert_eq!(status_to_exit_code(42 << 8), 42);
        assert_eq!(status_to_exit_code(libc::SIGKILL), 137);
        assert_eq!(status_to_exit_code(libc::SIGTERM), 143);
    }

    #[test]
    fn forwarded_set_excludes_uncatchable_and_own_signals() {
        let set = forwarded_signals();
        // SAFETY: set is initialized.
        let has = |s| unsafe { libc::sigismember(&set, s) == 1 };
        for s in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGWINCH,
            libc::SIGUSR1,
            libc::SIGRTMIN(),
        ] {
            assert!(has(s), "{s} must be forwarded");
        }
        for s in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGCHLD,
            libc::SIGSEGV,
            libc::SIGSYS,
        ] {
            assert!(!has(s), "{s} must not be forwarded");
        }
    }
}
