//! The supervisor: the parent after the payload started. It forwards signals, enforces
//! the wall-time limit, and turns the payload's end into an exit status.
//!
//! Signals are blocked (not handled) from before clone until the end, and taken with
//! sigtimedwait: no handler, no thread, no signal lost between clone and supervision.
//!
//! With a terminal ([`Job`]): the same loop relays the payload's pty (`exec::pty`) and
//! watches init's stop reports; when the payload stops, stockade stops the same way (its
//! shell shows the job `Stopped`) and continues the payload when it is continued.

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

/// The terminal side of supervision: the pty relay and job control.
#[derive(Debug, Default)]
pub struct Job {
    /// The payload has its own pty, relayed to the caller's terminal.
    pub pty: Option<super::pty::Relay>,
    /// stockade is a job of an interactive shell (its controlling terminal is on fd 0, 1
    /// or 2): when the payload stops, stockade stops too, and continues it on SIGCONT.
    pub job_control: bool,
    /// The child is the payload itself (no init): its stops are seen by waitpid here;
    /// with init they come as reports on the status pipe.
    pub direct: bool,
}

impl Job {
    /// `pty`: the master and the caller's terminal ([`super::pty::Opened::parent_side`]);
    /// `direct`: no init.
    pub fn new(
        plan: &crate::plan::Plan,
        pty: Option<(std::os::fd::OwnedFd, Option<super::console::Console>)>,
        direct: bool,
    ) -> Job {
        Job {
            pty: pty.map(|(master, console)| super::pty::Relay::new(master, console)),
            job_control: plan.process.new_session && super::console::job_control(),
            direct,
        }
    }

    /// The payload stopped with `sig`: stop stockade the same way (the caller's terminal
    /// restored first), and once continued (or at once, when the kernel discards the stop
    /// of an orphaned group) take the terminal back and continue the payload's job.
    fn payload_stopped(&mut self, sig: libc::c_int, forwarder: &super::forward::Forwarder) {
        if !self.job_control {
            return;
        }
        self.stop_self(sig);
        forwarder.send(libc::SIGCONT);
    }

    fn stop_self(&mut self, sig: libc::c_int) {
        if let Some(p) = self.pty.as_mut() {
            p.suspend();
        }
        super::console::stop_self(sig);
        if let Some(p) = self.pty.as_mut() {
            p.resume();
        }
    }
}

/// A signalfd for `set`, for a loop that watches fds (pty, status pipe) without a relay.
fn own_signal_fd(set: &libc::sigset_t) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: set is an initialized sigset.
    let fd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    // SAFETY: a fresh descriptor we own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The children of `pid` (init's: the payload, and orphans it adopted).
fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Read one 4-byte status message from init.
fn read_status(status_r: RawFd) -> Option<libc::c_int> {
    let mut b = [0u8; 4];
    // SAFETY: b is a valid 4-byte buffer.
    let n = unsafe { libc::read(status_r, b.as_mut_ptr().cast(), 4) };
    (n == 4).then(|| libc::c_int::from_ne_bytes(b))
}

/// Supervise `child` until it is gone.
#[allow(clippy::too_many_arguments)]
pub fn supervise(
    child: libc::pid_t,
    started: Instant,
    timeout: Option<&Timeout>,
    whole_group: bool,
    status_r: RawFd,
    forwarder: &super::forward::Forwarder,
    mut relay: Option<&mut super::notify::NotifyRelay>,
    job: &mut Job,
) -> Ended {
    use std::os::fd::AsRawFd;
    let set = wait_set();
    // Init's stop reports matter only when stockade stops with its payload.
    let mut watch_status = job.job_control && status_r >= 0;
    let own_sfd = if job.pty.is_some() || watch_status {
        own_signal_fd(&set)
    } else {
        None
    };
    let mut final_status = None;
    let mut phase = Phase::Running;
    let mut timed_out = false;
    let mut killed = false;
    let hard_kill = || {
        // SAFETY: kill with integer arguments. Outside a PID namespace the sandbox is the
        // child's session (it called setsid): its process group and the payload's own job
        // group (the payload leads one, see `pty::lead_job`); inside one, killing PID 1
        // kills all.
        unsafe {
            if whole_group {
                for job in children_of(child) {
                    libc::kill(-job, libc::SIGKILL);
                }
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
        let flags = libc::WNOHANG | if job.direct { libc::WUNTRACED } else { 0 };
        let r = unsafe { libc::waitpid(child, &mut st, flags) };
        if r == child && libc::WIFSTOPPED(st) {
            job.payload_stopped(libc::WSTOPSIG(st), forwarder);
            continue;
        }
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
        if job
            .pty
            .as_ref()
            .is_some_and(super::pty::Relay::reads_in_background)
        {
            // Put in the background: stop at once, as `cat &` would, not only once the
            // caller types (the shell would take those keystrokes first, and stockade
            // would race it for the rest). Impossible to stop (an orphaned group): leave
            // stdin alone until the next SIGCONT.
            job.stop_self(libc::SIGTTIN);
            if let Some(p) = job.pty.as_mut() {
                p.pause_stdin_if_background();
            }
        }
        let mut extra = [libc::pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        }; 4];
        if let Some(p) = &job.pty {
            extra[..3].copy_from_slice(&p.pollfds());
        }
        if watch_status {
            extra[3] = libc::pollfd {
                fd: status_r,
                events: libc::POLLIN,
                revents: 0,
            };
        }
        let sig = super::notify::sigtimedwait_relaying(
            &set,
            &mut info,
            wait,
            relay.as_deref_mut(),
            &mut extra,
            own_sfd.as_ref().map_or(-1, |f| f.as_raw_fd()),
        );
        if sig < 0 && Errno::last() == Errno::EINTR {
            if let Some(p) = job.pty.as_mut() {
                if let Some(stop) = p.ready(&[extra[0], extra[1], extra[2]]) {
                    // A read from the background after all (EIO, or moved there between
                    // the check above and the read): stop, and take nothing.
                    job.stop_self(stop);
                    if let Some(p) = job.pty.as_mut() {
                        p.pause_stdin_if_background();
                    }
                }
            }
            if extra[3].revents != 0 {
                match read_status(status_r) {
                    Some(st) if libc::WIFSTOPPED(st) => {
                        job.payload_stopped(libc::WSTOPSIG(st), forwarder)
                    }
                    Some(st) => final_status = Some(st),
                    // EOF: init is gone; waitpid says so next turn.
                    None => watch_status = false,
                }
            }
            continue;
        }
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
        if let Some(p) = job.pty.as_mut() {
            match sig {
                // The pty gets the caller's size; the kernel signals its foreground job.
                libc::SIGWINCH => {
                    p.resize();
                    continue;
                }
                // `fg`/`bg` of stockade: raw mode again if it is in the foreground now.
                libc::SIGCONT => p.resume(),
                _ => {}
            }
        }
        if sig != libc::SIGCHLD {
            forwarder.forward(sig, &info);
        }
    };
    let mut status = status;
    if status_r >= 0 {
        // Every writer is gone once init is reaped: read to EOF; the last message that is
        // not a stop report is the payload's status.
        while let Some(st) = read_status(status_r) {
            if !libc::WIFSTOPPED(st) {
                final_status = Some(st);
            }
        }
        if let Some(st) = final_status {
            status = st;
        }
    }
    if let Some(p) = job.pty.take() {
        // What the payload wrote last, then the caller's terminal modes: before stockade
        // reports, re-raises the payload's signal or exits.
        p.finish();
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
