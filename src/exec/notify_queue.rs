//! The relay's work: read (bounded per wakeup), check the sender, filter, queue, and send
//! when systemd has room; and the supervisor's wait that drives it.

use super::filter::{self, Access};
use super::io::{receive_from, send_to};
use super::{NotifyRelay, BATCH, FINAL_FLUSH, MAX_FDS, MAX_MESSAGE, QUEUE_MAX};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// The payload's main process, as the kernel names senders to stockade.
#[derive(Debug, Default)]
pub(super) struct MainProcess {
    /// Its pid in stockade's PID namespace, once known.
    pid: Option<libc::pid_t>,
    /// stockade's init (PID 1 of the sandbox), whose first child (PID 2) is the payload.
    init: Option<libc::pid_t>,
}

/// A message waiting for room in systemd's queue.
#[derive(Debug)]
pub(super) struct Outgoing {
    text: Vec<u8>,
    fds: Vec<OwnedFd>,
}

/// What the relay did, for the run report.
#[derive(Debug, Default)]
pub(super) struct Stats {
    forwarded: u64,
    refused: u64,
    dropped_keys: std::collections::BTreeMap<String, u64>,
    closed_fds: u64,
    undelivered: u64,
    refused_warned: bool,
}

/// `NSpid:` of /proc/PID/status: the pid in each PID namespace, outermost (ours) first.
fn nspid(pid: libc::pid_t) -> Option<Vec<libc::pid_t>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|n| n.parse().ok()).collect()
}

/// The payload under stockade's init: init's child that is PID 2 in init's namespace
/// (init forks it first; later children are orphans reparented to init).
fn payload_of_init(init: libc::pid_t) -> Option<libc::pid_t> {
    let depth = nspid(init)?.len();
    let listed = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"));
    let candidates: Vec<libc::pid_t> = match listed {
        Ok(l) => l
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect(),
        // Without CONFIG_PROC_CHILDREN: every process, checked by NSpid below.
        Err(_) => std::fs::read_dir("/proc")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
    };
    candidates
        .into_iter()
        .find(|c| nspid(*c).is_some_and(|v| v.len() >= depth && v[depth - 1] == 2))
}

impl NotifyRelay {
    /// The payload runs: `child` is the process stockade cloned, the payload itself or
    /// (`via_init`) stockade's init, whose child the payload is.
    pub fn payload_started(&mut self, child: libc::pid_t, via_init: bool) {
        self.main = if via_init {
            MainProcess {
                pid: payload_of_init(child),
                init: Some(child),
            }
        } else {
            MainProcess {
                pid: Some(child),
                init: None,
            }
        };
    }

    #[cfg(test)]
    pub(super) fn set_main(&mut self, pid: libc::pid_t) {
        self.main = MainProcess {
            pid: Some(pid),
            init: None,
        };
    }

    fn is_main(&mut self, sender: Option<libc::pid_t>) -> bool {
        if self.main.pid.is_none() {
            self.main.pid = self.main.init.and_then(payload_of_init);
        }
        sender.is_some() && sender == self.main.pid
    }

    /// Read up to [`BATCH`] messages (while the queue has room), filter and queue them,
    /// then send what systemd has room for. Never blocks; errors are reported once and
    /// never stop the payload. Returns how many messages were read.
    pub fn pump(&mut self) -> usize {
        let mut read = 0;
        while read < BATCH && self.queue.len() < QUEUE_MAX {
            let mut data = [0u8; MAX_MESSAGE + 1];
            let mut fds = [-1 as RawFd; MAX_FDS];
            match receive_from(self.sock.as_raw_fd(), &mut data, &mut fds) {
                Ok(None) => break,
                Ok(Some(m)) => {
                    read += 1;
                    let owned: Vec<OwnedFd> = fds[..m.fds]
                        .iter()
                        // SAFETY: the kernel just installed these descriptors for us.
                        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                        .collect();
                    if m.truncated {
                        self.stats.closed_fds += owned.len() as u64;
                        self.warn_once("dropped a message longer than 4096 bytes or with too many file descriptors");
                        continue;
                    }
                    self.accept(&data[..m.len], m.pid, owned);
                }
                Err(e) => {
                    self.warn_once(&format!("recvmsg(2): {e}"));
                    break;
                }
            }
        }
        self.flush();
        read
    }

    /// Check the sender, filter, and queue one message.
    fn accept(&mut self, msg: &[u8], sender: Option<libc::pid_t>, mut fds: Vec<OwnedFd>) {
        let allowed = match self.access {
            Access::All => true,
            Access::Main => self.is_main(sender),
            Access::None => false,
        };
        if !allowed {
            self.stats.refused += 1;
            self.stats.closed_fds += fds.len() as u64;
            if !self.stats.refused_warned {
                self.stats.refused_warned = true;
                let who = sender.map_or("an unknown process".into(), |p| format!("pid {p}"));
                crate::log::warn(&format!(
                    "sd_notify relay: dropped a message from {who}, not the payload's main \
                     process (as NotifyAccess=main would); `[systemd] notify-access = \"all\"` \
                     accepts every process of the sandbox. Later ones are counted in the report"
                ));
            }
            return;
        }
        let f = filter::filter(msg, self.pid);
        for k in f.dropped {
            *self.stats.dropped_keys.entry(k).or_default() += 1;
        }
        if let Some(a) = f.access {
            self.access = a;
        }
        if !f.keep_fds || (f.barrier && fds.len() != 1) {
            self.stats.closed_fds += fds.len() as u64;
            fds.clear();
            if f.barrier {
                // systemd would close them and take nothing else from it.
                return;
            }
        }
        if f.text.is_empty() {
            return;
        }
        self.queue.push_back(Outgoing { text: f.text, fds });
    }

    /// Send queued messages, at most [`BATCH`], until systemd's queue is full.
    pub(super) fn flush(&mut self) {
        for _ in 0..BATCH {
            let Some(m) = self.queue.front() else { break };
            if !self.connected {
                self.connected = super::io::connect(self.out.as_raw_fd(), &self.target).is_ok();
            }
            let target = (!self.connected).then_some(self.target.as_str());
            let raw: Vec<RawFd> = m.fds.iter().map(AsRawFd::as_raw_fd).collect();
            match send_to(self.out.as_raw_fd(), target, &m.text, &raw) {
                Ok(()) => {
                    self.queue.pop_front();
                    self.stats.forwarded += 1;
                }
                // systemd's queue is full: poll says when it has room again.
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) => {
                    self.queue.pop_front();
                    self.stats.undelivered += 1;
                    // A receiver gone (or not there yet) may be bound anew: reconnect.
                    self.connected = false;
                    self.warn_once(&format!("forwarding to systemd failed: {e}"));
                }
            }
        }
    }

    /// Whether the loop should poll the relay socket (the queue has room) and the outgoing
    /// one (something waits), and how long at most (a retry without a connection).
    fn interest(&self) -> (bool, bool, Option<Duration>) {
        let waiting = !self.queue.is_empty();
        let retry = (waiting && !self.connected).then_some(Duration::from_millis(20));
        (
            self.queue.len() < QUEUE_MAX,
            waiting && self.connected,
            retry,
        )
    }

    /// The payload ended: relay what it sent last (STOPPING=1, EXIT_STATUS=) and what is
    /// queued, waiting at most [`FINAL_FLUSH`] for systemd (a second after a wall-time kill:
    /// the limit must not stretch by the wait for a receiver that does not read); what is
    /// left is counted and warned about.
    pub fn finish(&mut self, timed_out: bool) {
        let flush = if timed_out {
            FINAL_FLUSH.min(Duration::from_secs(1))
        } else {
            FINAL_FLUSH
        };
        let deadline = Instant::now() + flush;
        // Bounded too: a descendant left running (`pid = false`) may still be sending.
        let mut reads = 0;
        loop {
            let n = if reads < 2 * QUEUE_MAX {
                self.pump()
            } else {
                self.flush();
                0
            };
            reads += n;
            let left = deadline.saturating_duration_since(Instant::now());
            if (n == 0 && self.queue.is_empty()) || left.is_zero() {
                break;
            }
            if n == 0 {
                let (_, write, retry) = self.interest();
                let wait = retry.map_or(left, |r| r.min(left));
                let mut pfd = libc::pollfd {
                    fd: if write { self.out.as_raw_fd() } else { -1 },
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one live pollfd.
                unsafe { libc::poll(&mut pfd, 1, millis(wait)) };
            }
        }
        if !self.queue.is_empty() {
            let n = self.queue.len();
            self.stats.undelivered += n as u64;
            self.queue.clear();
            crate::log::warn(&format!(
                "sd_notify relay: {n} message(s) not delivered: NOTIFY_SOCKET={} took none \
                 within {} after the payload ended",
                self.target,
                humantime::format_duration(flush)
            ));
        }
    }

    /// What the relay did, for the run report.
    pub fn report(&self) -> crate::exec::report::NotifyReport {
        crate::exec::report::NotifyReport {
            access: match self.access {
                Access::Main => "main",
                Access::All => "all",
                Access::None => "none",
            },
            forwarded: self.stats.forwarded,
            refused_senders: self.stats.refused,
            dropped_keys: self.stats.dropped_keys.clone(),
            closed_fds: self.stats.closed_fds,
            undelivered: self.stats.undelivered,
        }
    }
}

/// A poll(2) timeout, rounded up so a sub-millisecond remainder does not spin.
fn millis(d: Duration) -> libc::c_int {
    d.as_millis().saturating_add(1).min(i32::MAX as u128) as libc::c_int
}

fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// `sigtimedwait(set, timeout)` that also relays notifications, and watches `extra` fds
/// (the pty relay, init's stop reports), while it waits.
///
/// Same contract as sigtimedwait(2), so the supervisor's loop is unchanged: the signal number,
/// or -1 with errno EAGAIN when `timeout` passed (EINTR never escapes, except that -1 with
/// EINTR means some of `extra` have `revents` set). Without a relay nor extra fds it is
/// sigtimedwait itself. Otherwise the blocked signals are watched through a signalfd (the
/// relay's, else `own_sfd`) next to the other fds; a readable signalfd is consumed with a
/// zero-timeout sigtimedwait.
pub fn sigtimedwait_relaying(
    set: &libc::sigset_t,
    info: &mut libc::siginfo_t,
    timeout: Option<Duration>,
    mut relay: Option<&mut NotifyRelay>,
    extra: &mut [libc::pollfd],
    own_sfd: RawFd,
) -> libc::c_int {
    for p in extra.iter_mut() {
        p.revents = 0;
    }
    let plain = |info: &mut libc::siginfo_t| {
        let ts = timeout.map(timespec);
        // SAFETY: set is initialized; ts lives across the call.
        unsafe {
            libc::sigtimedwait(
                set,
                info,
                ts.as_ref().map_or(std::ptr::null(), |t| t as *const _),
            )
        }
    };
    let watching = extra.iter().any(|p| p.fd >= 0) && own_sfd >= 0;
    let sfd = match relay.as_deref_mut() {
        None if !watching => return plain(info),
        None => own_sfd,
        Some(r) => match r.signal_fd(set) {
            Ok(fd) => fd,
            Err(e) => {
                r.warn_once(&format!("signalfd(2): {e}; relaying stops"));
                return plain(info);
            }
        },
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut pfd: Vec<libc::pollfd> = Vec::with_capacity(3 + extra.len());
    loop {
        // A signal already pending wins (and is consumed, exactly as sigtimedwait would).
        // SAFETY: set is initialized; zero lives across the call.
        let sig = unsafe { libc::sigtimedwait(set, info, &zero) };
        if sig > 0 {
            return sig;
        }
        let left = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    set_errno(libc::EAGAIN);
                    return -1;
                }
                Some(left)
            }
        };
        let (read, write, retry) = relay
            .as_deref()
            .map_or((false, false, None), NotifyRelay::interest);
        let wait_ms = match (left, retry) {
            (Some(l), Some(r)) => millis(l.min(r)),
            (Some(t), None) | (None, Some(t)) => millis(t),
            (None, None) => -1,
        };
        // A negative fd is ignored by poll: the relay socket is not read while the queue is
        // full (senders block, as on systemd's socket), the outgoing one polled only while
        // something waits.
        let fd_of = |on: bool, f: fn(&NotifyRelay) -> RawFd| match (&relay, on) {
            (Some(r), true) => f(r),
            _ => -1,
        };
        pfd.clear();
        pfd.push(libc::pollfd {
            fd: sfd,
            events: libc::POLLIN,
            revents: 0,
        });
        pfd.push(libc::pollfd {
            fd: fd_of(read, NotifyRelay::fd),
            events: libc::POLLIN,
            revents: 0,
        });
        pfd.push(libc::pollfd {
            fd: fd_of(write, |r| r.out.as_raw_fd()),
            events: libc::POLLOUT,
            revents: 0,
        });
        pfd.extend_from_slice(extra);
        // SAFETY: pfd is a live array of pfd.len() pollfds.
        let r = unsafe { libc::poll(pfd.as_mut_ptr(), pfd.len() as libc::nfds_t, wait_ms) };
        // Bounded work (BATCH each way), then back to the pending-signal and deadline
        // checks above: a flood of datagrams cannot starve either.
        if let Some(relay) = relay.as_deref_mut() {
            if (r > 0 && (pfd[1].revents != 0 || pfd[2].revents != 0))
                || (r == 0 && retry.is_some())
            {
                relay.pump();
            }
        }
        if r > 0 && pfd[3..].iter().any(|p| p.revents != 0) {
            for (e, p) in extra.iter_mut().zip(&pfd[3..]) {
                e.revents = p.revents;
            }
            set_errno(libc::EINTR);
            return -1;
        }
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}
