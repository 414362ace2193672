//! The payload's own pseudo-terminal (`process.terminal`) and the relay between it and the
//! caller's terminal.
//!
//! * Before clone the supervisor opens the pair (posix_openpt, grantpt, unlockpt, the
//!   slave by name), both CLOEXEC and above the socket-activation fds. The master stays in
//!   the supervisor: the child's close_inherited_fds closes it (it is not on the keep
//!   list), the slave is kept until `Step::AttachTerminal` moves it to fds 0, 1, 2.
//! * The payload's session: init (or the payload when it is PID 1) is the session leader
//!   and makes the slave its controlling terminal; the payload leads its own process group
//!   in that session and is the pty's foreground group, so Ctrl-C and Ctrl-Z reach the
//!   payload's job and not init, and a stopped payload is not in an orphaned group (its
//!   parent, init, is in the same session), so Ctrl-Z stops it as in a shell.
//! * The payload holds no fd of the caller's terminal (init's 0, 1, 2 are the slave too),
//!   so TIOCSTI can only inject input into the payload's own pty.
//! * The supervisor relays stdin → master and master → stdout in its one poll loop,
//!   without blocking on the pty (the master is non-blocking; what the payload does not
//!   read waits in a bounded buffer and stdin is not read meanwhile). stdin and stdout are
//!   never made non-blocking: their file descriptions are shared with the caller's shell.

use super::console::Console;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The pty pair, opened in the parent.
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn cvt(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Move `fd` to a CLOEXEC descriptor >= `min` (closing the original).
fn above(fd: RawFd, min: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: fd is a fresh descriptor we own.
    let orig = unsafe { OwnedFd::from_raw_fd(fd) };
    if fd >= min {
        return Ok(orig);
    }
    // SAFETY: duplicating an fd we own.
    let high = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Whether the payload gets a pty: `Always`, or `Auto` with stdin and stdout terminals.
pub fn wanted(terminal: crate::plan::Terminal) -> bool {
    use crate::plan::Terminal;
    match terminal {
        Terminal::Always => true,
        Terminal::Never => false,
        Terminal::Auto => super::console::is_tty(0) && super::console::is_tty(1),
    }
}

impl Pty {
    /// Open a pair; both fds at or above `min_fd`. The slave starts with the caller's
    /// terminal modes (when stockade is in the foreground) and window size, like a new
    /// tab of a terminal emulator.
    pub fn open(min_fd: RawFd, console: Option<&Console>) -> std::io::Result<Pty> {
        // SAFETY: plain libc calls; ptsname_r writes into a live buffer of its length.
        unsafe {
            let m = cvt(libc::posix_openpt(
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            let master = above(m, min_fd)?;
            cvt(libc::grantpt(master.as_raw_fd()))?;
            cvt(libc::unlockpt(master.as_raw_fd()))?;
            let mut name = [0 as libc::c_char; 128];
            let r = libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len());
            if r != 0 {
                return Err(std::io::Error::from_raw_os_error(r));
            }
            let s = cvt(libc::open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            let slave = above(s, min_fd)?;
            if let Some(c) = console {
                // Only from the foreground: a background job sees the modes its shell's
                // line editor set for itself (no ICRNL, no ICANON), not the ones a program
                // gets; the pty's defaults are the sane ones then.
                if let Some(t) = c.modes().filter(|_| c.in_foreground()) {
                    libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
                }
                if let Some(ws) = c.window_size() {
                    libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
                }
            }
            let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            cvt(libc::fcntl(
                master.as_raw_fd(),
                libc::F_SETFL,
                fl | libc::O_NONBLOCK,
            ))?;
            Ok(Pty { master, slave })
        }
    }
}

/// The pair and the caller's terminal, between prepare and the end of the clone.
#[derive(Debug)]
pub struct Opened {
    pty: Pty,
    console: Option<Console>,
}

/// Before clone: open the payload's pty when the plan wants one here (`wanted`), and hand
/// its slave to the child (`Prepared::pty_slave`). A console (stdin a terminal) gives the
/// slave its modes and size.
pub fn open_for(
    plan: &crate::plan::Plan,
    prep: &mut super::prepare::Prepared,
) -> Result<Option<Opened>, super::ExecError> {
    if !wanted(plan.process.terminal) {
        return Ok(None);
    }
    let console = Console::new(0);
    let pty =
        Pty::open(3 + prep.listen_fds as RawFd, console.as_ref()).map_err(super::ExecError::Pty)?;
    prep.pty_slave = pty.slave.as_raw_fd();
    Ok(Some(Opened { pty, console }))
}

impl Opened {
    /// After clone: the parent closes its slave (only the sandbox holds it, so the master
    /// reads EIO once they are all gone) and keeps the master.
    pub fn parent_side(self, prep: &mut super::prepare::Prepared) -> (OwnedFd, Option<Console>) {
        drop(self.pty.slave);
        prep.pty_slave = -1;
        (self.pty.master, self.console)
    }
}

/// In the child (init, or the payload as PID 1), right after the session exists: the slave
/// becomes the controlling terminal and fds 0, 1, 2; the original slave fd is closed.
/// Async-signal-safe.
pub fn attach(slave: RawFd) -> Result<(), super::error::Fail> {
    use super::error::{Call, Ctx};
    use super::sys;
    // SAFETY: ioctl/dup2 with integer arguments on fds we hold.
    sys::cvt(unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) }).ctx(Call::Ioctl)?;
    for fd in 0..=2 {
        sys::cvt(unsafe { libc::dup2(slave, fd) }).ctx(Call::Dup2)?;
    }
    if slave > 2 {
        sys::close(slave);
    }
    Ok(())
}

/// In the payload after init's fork: lead a process group of its own and, with a pty,
/// make it the pty's foreground group. SIGTTOU is still blocked here (the mask is restored
/// just before execve), so tcsetpgrp from what is for an instant a background group is
/// allowed. Failures are ignored: the payload then shares init's group, as before.
pub fn lead_job(pty: bool) {
    // SAFETY: plain syscalls with integer arguments.
    unsafe {
        if libc::setpgid(0, 0) == 0 && pty {
            libc::tcsetpgrp(0, libc::getpid());
        }
    }
}

const BUF: usize = 16 * 1024;

/// The supervisor's side: the master, the caller's terminal, and what is in flight.
#[derive(Debug)]
pub struct Relay {
    master: OwnedFd,
    console: Option<Console>,
    /// stdin → master, not yet taken by the pty.
    to_pty: Vec<u8>,
    /// master → stdout, not yet written.
    to_out: Vec<u8>,
    stdin_open: bool,
    master_open: bool,
    /// stdin is not a terminal: its EOF becomes the pty's end-of-file character.
    eof_pending: bool,
    /// Still in the background after trying to stop (an orphaned process group, whose
    /// stop the kernel discards): stdin is left alone until the next SIGCONT.
    stdin_paused: bool,
}

/// What the loop's poll found for the relay.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interest {
    pub stdin: bool,
    pub master_in: bool,
    pub master_out: bool,
    pub stdout: bool,
}

impl Relay {
    pub fn new(master: OwnedFd, console: Option<Console>) -> Relay {
        let mut r = Relay {
            master,
            console,
            to_pty: Vec::new(),
            to_out: Vec::new(),
            stdin_open: true,
            master_open: true,
            eof_pending: false,
            stdin_paused: false,
        };
        r.resume();
        r
    }

    /// The pollfds this turn, in the order [`Relay::ready`] takes them back.
    pub fn pollfds(&self) -> [libc::pollfd; 3] {
        let pfd = |fd: RawFd, events: libc::c_short| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let master = self.master.as_raw_fd();
        let mut master_ev = 0;
        if self.master_open && self.to_out.is_empty() {
            master_ev |= libc::POLLIN;
        }
        if self.master_open && (!self.to_pty.is_empty() || self.eof_pending) {
            master_ev |= libc::POLLOUT;
        }
        [
            pfd(
                if self.stdin_open
                    && !self.stdin_paused
                    && self.to_pty.is_empty()
                    && !self.eof_pending
                {
                    0
                } else {
                    -1
                },
                libc::POLLIN,
            ),
            pfd(if master_ev != 0 { master } else { -1 }, master_ev),
            pfd(if self.to_out.is_empty() { -1 } else { 1 }, libc::POLLOUT),
        ]
    }

    /// Do the I/O the poll said is possible. Returns a stop signal when stockade must stop
    /// itself: it is in the background and the caller typed (or it read EIO), the way a
    /// background job reading its terminal gets SIGTTIN.
    pub fn ready(&mut self, p: &[libc::pollfd; 3]) -> Option<libc::c_int> {
        let mut stop = None;
        if p[0].revents != 0 {
            stop = self.read_stdin();
        }
        if p[1].revents & libc::POLLOUT != 0 {
            self.write_master();
        }
        if p[1].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            self.read_master();
        }
        if p[2].revents != 0 {
            self.write_out();
        }
        stop
    }

    fn read_stdin(&mut self) -> Option<libc::c_int> {
        if let Some(c) = &self.console {
            if !c.in_foreground() {
                // Do not take the keystrokes meant for the shell that has the terminal.
                return Some(libc::SIGTTIN);
            }
        }
        let mut buf = [0u8; BUF];
        // SAFETY: reading into a live buffer of its length.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => {
                self.stdin_open = false;
                // Piped input: the payload's canonical-mode read ends as at a Ctrl-D.
                self.eof_pending = self.console.is_none();
            }
            n if n > 0 => {
                self.to_pty.extend_from_slice(&buf[..n as usize]);
                self.write_master();
            }
            _ => match nix::errno::Errno::last() {
                nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN => {}
                // A background read of the terminal (SIGTTIN is blocked); in the
                // foreground EIO is a hangup: stdin is gone.
                nix::errno::Errno::EIO
                    if self.console.as_ref().is_some_and(|c| !c.in_foreground()) =>
                {
                    return Some(libc::SIGTTIN)
                }
                _ => self.stdin_open = false,
            },
        }
        None
    }

    fn write_master(&mut self) {
        if !self.master_open {
            self.to_pty.clear();
            return;
        }
        if self.to_pty.is_empty() && self.eof_pending {
            self.to_pty.push(self.eof_char());
            self.eof_pending = false;
        }
        if self.to_pty.is_empty() {
            return;
        }
        // SAFETY: writing from a live buffer; the master is non-blocking.
        let n = unsafe {
            libc::write(
                self.master.as_raw_fd(),
                self.to_pty.as_ptr().cast(),
                self.to_pty.len(),
            )
        };
        if n > 0 {
            self.to_pty.drain(..n as usize);
        } else if n < 0
            && !matches!(
                nix::errno::Errno::last(),
                nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR
            )
        {
            self.to_pty.clear();
        }
    }

    fn eof_char(&self) -> u8 {
        // SAFETY: t is a valid out pointer.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(self.master.as_raw_fd(), &mut t) == 0 {
                t.c_cc[libc::VEOF]
            } else {
                4
            }
        }
    }

    /// Read what the pty has (non-blocking). EIO: every slave fd is closed.
    fn read_master(&mut self) -> bool {
        let mut buf = [0u8; BUF];
        // SAFETY: reading into a live buffer of its length.
        let n = unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), BUF) };
        if n > 0 {
            self.to_out.extend_from_slice(&buf[..n as usize]);
            return true;
        }
        if n == 0
            || !matches!(
                nix::errno::Errno::last(),
                nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR
            )
        {
            self.master_open = false;
        }
        false
    }

    fn write_out(&mut self) {
        if self.to_out.is_empty() {
            return;
        }
        // SAFETY: writing from a live buffer.
        let n = unsafe { libc::write(1, self.to_out.as_ptr().cast(), self.to_out.len()) };
        if n > 0 {
            self.to_out.drain(..n as usize);
        } else if n < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            // Nobody reads stdout any more: discard, keep the payload running.
            self.to_out.clear();
        }
    }

    /// SIGWINCH: copy the caller's window size to the pty (the kernel then signals the
    /// pty's foreground group, if the size changed).
    pub fn resize(&self) {
        if let Some(ws) = self.console.as_ref().and_then(Console::window_size) {
            // SAFETY: ws is a valid winsize.
            unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        }
    }

    /// Before stockade stops (or ends): the caller's terminal gets its modes back.
    pub fn suspend(&mut self) {
        if let Some(c) = self.console.as_mut() {
            c.restore();
        }
    }

    /// stockade relays stdin all the time, so like any program reading its terminal it
    /// must not do so from the background: true when it would (the caller then stops
    /// stockade with SIGTTIN, as the kernel stops a background reader).
    pub fn reads_in_background(&self) -> bool {
        self.stdin_open
            && !self.stdin_paused
            && self.console.as_ref().is_some_and(|c| !c.in_foreground())
    }

    /// After a stop attempt for a background read: if stockade is still in the background,
    /// stop reading stdin until the next SIGCONT (no busy loop on a terminal that polls
    /// readable for the shell that owns it).
    pub fn pause_stdin_if_background(&mut self) {
        if self.console.as_ref().is_some_and(|c| !c.in_foreground()) {
            self.stdin_paused = true;
        }
    }

    /// At start and after SIGCONT: raw mode again (in the foreground only), and the
    /// window size, which may have changed while stockade was stopped.
    pub fn resume(&mut self) {
        self.stdin_paused = false;
        if let Some(c) = self.console.as_mut() {
            c.enter_raw();
        }
        self.resize();
    }

    /// The payload ended: write out what is left in the master (bounded: a process of the
    /// sandbox that outlived the payload and still holds the slave may keep writing), then
    /// restore the caller's terminal.
    pub fn finish(mut self) {
        for _ in 0..256 {
            if self.to_out.is_empty() && !(self.master_open && self.read_master()) {
                break;
            }
            while !self.to_out.is_empty() {
                let before = self.to_out.len();
                self.write_out();
                if self.to_out.len() == before {
                    break;
                }
            }
        }
        self.suspend();
    }
}
