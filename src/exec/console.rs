//! The caller's terminal while the payload has a pty of its own: raw mode in, saved modes
//! back out, and the job-control checks a terminal program makes.
//!
//! stockade's signals stay blocked all along (see `supervisor`), and with SIGTTOU blocked
//! the kernel lets a background process change terminal modes. So every change first
//! checks that stockade's process group is the terminal's foreground group: a stockade
//! put in the background by the caller's shell leaves the terminal alone until `fg`.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// Some console is in raw mode now (for `log`, whose lines then need "\r\n").
static RAW: AtomicBool = AtomicBool::new(false);

/// Whether stockade has the caller's terminal in raw mode.
pub fn raw_mode() -> bool {
    RAW.load(Ordering::Relaxed)
}

/// The caller's terminal (stockade's stdin), with the modes it had before raw mode.
#[derive(Debug)]
pub struct Console {
    fd: RawFd,
    saved: Option<libc::termios>,
    raw: bool,
}

/// Whether `fd` is a terminal.
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty takes any integer.
    unsafe { libc::isatty(fd) == 1 }
}

/// Whether one of fds 0, 1, 2 is stockade's controlling terminal: stockade runs as a job
/// of an interactive shell, which expects it to stop when its payload stops (and under
/// systemd, with no controlling terminal, it never stops itself).
pub fn job_control() -> bool {
    // SAFETY: plain syscalls with integer arguments.
    let sid = unsafe { libc::getsid(0) };
    (0..=2).any(|fd| is_tty(fd) && unsafe { libc::tcgetsid(fd) } == sid)
}

impl Console {
    /// The terminal on `fd`, or None when `fd` is not one.
    pub fn new(fd: RawFd) -> Option<Console> {
        if !is_tty(fd) {
            return None;
        }
        Some(Console {
            fd,
            saved: None,
            raw: false,
        })
    }

    /// Its current modes (to copy to the pty, so the payload starts with the same ones).
    pub fn modes(&self) -> Option<libc::termios> {
        // SAFETY: t is a valid out pointer.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(self.fd, &mut t) == 0).then_some(t)
        }
    }

    /// stockade's process group is the terminal's foreground group (for a terminal that is
    /// not our controlling one, tcgetpgrp fails: treat it as ours).
    pub fn in_foreground(&self) -> bool {
        // SAFETY: plain syscalls with integer arguments.
        unsafe {
            let fg = libc::tcgetpgrp(self.fd);
            fg < 0 || fg == libc::getpgrp()
        }
    }

    /// Enter raw mode (cfmakeraw: no echo, no line editing, no signal characters: Ctrl-C
    /// and Ctrl-Z are bytes for the pty, whose own line discipline turns them into signals
    /// for the payload's foreground job). Only in the foreground; the modes are saved
    /// first, each time, since the caller's shell may have changed them while we were
    /// stopped.
    pub fn enter_raw(&mut self) {
        if self.raw || !self.in_foreground() {
            return;
        }
        let Some(saved) = self.modes() else { return };
        let mut raw = saved;
        // SAFETY: raw is an initialized termios; tcsetattr with a valid pointer.
        unsafe {
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(self.fd, libc::TCSADRAIN, &raw) == 0 {
                self.saved = Some(saved);
                self.raw = true;
                RAW.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Put back the modes saved by [`Console::enter_raw`] (nothing if it did not change
    /// them). TCSAFLUSH is not used: input typed meanwhile stays for whoever reads next.
    pub fn restore(&mut self) {
        if !self.raw {
            return;
        }
        self.raw = false;
        RAW.store(false, Ordering::Relaxed);
        if let Some(saved) = self.saved.take() {
            // SAFETY: saved is the termios read by tcgetattr.
            unsafe { libc::tcsetattr(self.fd, libc::TCSADRAIN, &saved) };
        }
    }

    /// The terminal's window size.
    pub fn window_size(&self) -> Option<libc::winsize> {
        // SAFETY: ws is a valid out pointer for TIOCGWINSZ.
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            (libc::ioctl(self.fd, libc::TIOCGWINSZ, &mut ws) == 0).then_some(ws)
        }
    }
}

impl Drop for Console {
    /// Every way out of the supervisor (normal end, a signal death stockade re-raises
    /// after this, a wall-time kill, an error) drops the console first.
    fn drop(&mut self) {
        self.restore();
    }
}

/// Stop stockade itself with `sig` (SIGTSTP, SIGTTIN, SIGTTOU or SIGSTOP), as a job does,
/// so the caller's shell reports it stopped; returns once continued. The signal is
/// normally blocked (the supervisor takes it with sigtimedwait): it gets its default action
/// and is unblocked just around a kill of ourselves. A process group the kernel considers
/// orphaned discards the three terminal stop signals; then this returns at once.
pub fn stop_self(sig: libc::c_int) {
    // SAFETY: sigaction/sigprocmask with initialized structures; kill of ourselves.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, &dfl, &mut old);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
        // Stopped here until SIGCONT (which stays blocked, so it is taken by the loop).
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::sigaction(sig, &old, std::ptr::null_mut());
    }
}
