//! The supervisor's side of `network.mode = "proxy"`: fork the proxy process before the
//! sandbox is cloned, give the child its end of the listener channel, and collect the
//! decisions into the run report when the payload is gone.

use super::pattern::AllowList;
use super::resolve::Resolver;
use crate::plan::Plan;
use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The running proxy, as the supervisor holds it.
#[derive(Debug)]
pub struct Egress {
    pid: libc::pid_t,
    /// The child's end of the listener channel (closed in the supervisor after clone).
    child_chan: RawFd,
    /// Closing it tells the proxy the payload is gone.
    stop_w: RawFd,
    records: std::fs::File,
}

fn cvt(r: libc::c_int, what: &str) -> std::io::Result<libc::c_int> {
    if r < 0 {
        let e = std::io::Error::last_os_error();
        Err(std::io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(r)
    }
}

impl Egress {
    /// Fork the proxy. `min_fd`: the child's channel end lands at or above it (clear of
    /// socket-activation fds).
    /// `learning` (`stockade learn`): names not in the list are let through and recorded as
    /// learnt, so the run shows every host it needs.
    pub fn start(
        plan: &Plan,
        net_log: Option<&Path>,
        min_fd: RawFd,
        learning: bool,
    ) -> std::io::Result<Egress> {
        let Some(e) = &plan.egress else {
            return Err(std::io::Error::other("no egress plan"));
        };
        let allow = AllowList {
            entries: e.allow.clone(),
        };
        let resolver = Resolver::from_supervisor_env();
        let log = match net_log {
            // Opened before the payload starts, never following a link (see host_output).
            Some(p) => Some(
                crate::exec::host_output::open(p, crate::exec::host_output::Existing::Append)
                    .map_err(|e| {
                        std::io::Error::other(format!("--net-log {}: {e}", p.display()))
                    })?,
            ),
            None => None,
        };
        // SAFETY: a NUL-terminated name, no pointers kept.
        let mfd = cvt(
            unsafe { libc::memfd_create(c"stockade-net".as_ptr(), libc::MFD_CLOEXEC) },
            "memfd_create(2)",
        )?;
        // SAFETY: mfd was just created and is owned here.
        let records = unsafe { std::fs::File::from_raw_fd(mfd) };
        let mut sp = [0; 2];
        // SAFETY: sp is a valid 2-int array.
        cvt(
            unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                    0,
                    sp.as_mut_ptr(),
                )
            },
            "socketpair(2)",
        )?;
        // SAFETY: duplicating an fd we own.
        let child_chan = cvt(
            unsafe { libc::fcntl(sp[1], libc::F_DUPFD_CLOEXEC, min_fd) },
            "fcntl(2)",
        )?;
        // SAFETY: closing our own fd.
        unsafe { libc::close(sp[1]) };
        let mut stop = [0; 2];
        // SAFETY: valid array.
        cvt(
            unsafe { libc::pipe2(stop.as_mut_ptr(), libc::O_CLOEXEC) },
            "pipe2(2)",
        )?;
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the supervisor is single-threaded here (before clone, no threads exist),
        // so the forked proxy may use the allocator and start threads of its own.
        let pid = cvt(unsafe { libc::fork() }, "fork(2)")?;
        if pid == 0 {
            // The proxy process.
            // SAFETY: prctl/getppid/sigprocmask with valid arguments.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                if libc::getppid() != parent {
                    libc::_exit(0);
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                libc::close(child_chan);
                libc::close(stop[1]);
            }
            let mut keep = vec![0, 1, 2, sp[0], stop[0], mfd];
            if let Some(l) = &log {
                keep.push(std::os::fd::AsRawFd::as_raw_fd(l));
            }
            close_all_but(&mut keep);
            let code = proxy_main(sp[0], stop[0], records, log, allow, resolver, learning);
            // SAFETY: leave without running the supervisor's exit paths.
            unsafe { libc::_exit(code) }
        }
        // SAFETY: closing the proxy's ends in the supervisor.
        unsafe {
            libc::close(sp[0]);
            libc::close(stop[0]);
        }
        Ok(Egress {
            pid,
            child_chan,
            stop_w: stop[1],
            records,
        })
    }

    /// The fd the child sends the listeners over.
    pub fn child_fd(&self) -> RawFd {
        self.child_chan
    }

    /// After clone: only the child holds its end now (EOF for the proxy if it dies).
    pub fn close_child_end(&mut self) {
        if self.child_chan >= 0 {
            // SAFETY: our own fd.
            unsafe { libc::close(self.child_chan) };
            self.child_chan = -1;
        }
    }

    /// Stop the proxy and return its decisions, in order.
    pub fn finish(mut self) -> Vec<serde_json::Value> {
        self.close_child_end();
        // SAFETY: our own fd; closing it is the proxy's stop signal.
        unsafe { libc::close(self.stop_w) };
        self.stop_w = -1;
        let mut st = 0;
        // The proxy waits at most ~2 s for open relays; then it exits.
        // SAFETY: waitpid on our own child with a valid out pointer.
        while unsafe { libc::waitpid(self.pid, &mut st, 0) } < 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
        self.pid = -1;
        let mut text = String::new();
        let _ = self.records.rewind();
        let _ = self.records.read_to_string(&mut text);
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.close_child_end();
        if self.stop_w >= 0 {
            // SAFETY: our own fd.
            unsafe { libc::close(self.stop_w) };
        }
        if self.pid > 0 {
            // An abandoned launch: the proxy goes at once.
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                let mut st = 0;
                libc::waitpid(self.pid, &mut st, 0);
            }
        }
    }
}

/// Close every fd except `keep` (the proxy must not hold the supervisor's pipes: the
/// child detects the supervisor's death by their EOF).
fn close_all_but(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut next: u32 = 0;
    for &k in keep.iter() {
        let k = k as u32;
        if k > next {
            // SAFETY: close_range on integers.
            unsafe { libc::syscall(libc::SYS_close_range, next, k - 1, 0) };
        }
        next = k + 1;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, next, u32::MAX, 0) };
    // stdin: nothing to read; do not hold the terminal.
    if let Ok(null) = std::fs::File::open("/dev/null") {
        // SAFETY: dup2 onto fd 0.
        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0) };
    }
}

fn proxy_main(
    chan: RawFd,
    stop: RawFd,
    records: std::fs::File,
    log: Option<std::fs::File>,
    allow: AllowList,
    resolver: Resolver,
    learning: bool,
) -> i32 {
    let listeners = match super::listeners::receive(chan) {
        Ok(Some(l)) => l,
        // The child failed before sending: the supervisor reports that failure.
        Ok(None) => return 0,
        Err(e) => {
            eprintln!("stockade: network proxy: receiving the listeners: {e}");
            return 1;
        }
    };
    // SAFETY: closing our own fd.
    unsafe { libc::close(chan) };
    let sh = super::proxy::Shared {
        allow,
        resolver,
        records: std::sync::Mutex::new(records),
        net_log: log.map(std::sync::Mutex::new),
        started: std::time::Instant::now(),
        open: std::sync::atomic::AtomicUsize::new(0),
        learning,
    };
    // SAFETY: stop is ours, open, owned by nobody else.
    let stop = unsafe { OwnedFd::from_raw_fd(stop) };
    super::proxy::serve(sh, listeners, stop);
    0
}
