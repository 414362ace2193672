//! The sd_notify relay: readiness and watchdog messages from a sandboxed payload to systemd.
//!
//! systemd accepts notifications only from the unit's main PID (`NotifyAccess=main`, the
//! default), and under stockade that is the supervisor, not the payload. The payload may also
//! have its own network namespace (an abstract `NOTIFY_SOCKET` is per network namespace), its
//! own mount namespace (a path socket is invisible) and its own uid. So stockade relays:
//!
//! * before clone, [`NotifyRelay::new`] binds a private datagram socket in a fresh 0700
//!   directory on the host (`/run/stockade/` as root, `$XDG_RUNTIME_DIR/stockade/` otherwise);
//! * the child bind-mounts that socket inode at [`NOTIFY_SANDBOX_PATH`], where the payload's
//!   `NOTIFY_SOCKET` points (set by the compiler). A filesystem socket is reachable from
//!   any network namespace; the socket file is mode 0666 because the payload's uid may map
//!   to anything, and only the sandbox can reach it (the host directory is 0700);
//! * once the payload runs, [`NotifyRelay::sandbox_ready`] unlinks the host path: the bind
//!   mount keeps the inode reachable inside, and nothing is left on the host even if stockade
//!   is SIGKILLed;
//! * the supervisor waits with [`sigtimedwait_relaying`], which forwards each message to the
//!   real `NOTIFY_SOCKET` from the supervisor's own pid, so `NotifyAccess=main` accepts it.
//!
//! What is forwarded, and from whom:
//!
//! * **Senders** (`[systemd] notify-access`): under `main` (the default, like systemd's
//!   `NotifyAccess=main`; stockade cannot see the unit's setting) only the payload's main
//!   process: the process stockade started, or the one its init started. The relay socket
//!   has SO_PASSCRED, and the kernel gives the sender's pid as seen from stockade's PID
//!   namespace, so it is compared with the payload's host pid. `all` accepts any process of
//!   the sandbox. The main process may change this with `NOTIFYACCESS=` (systemd 254). As
//!   under systemd, a process holding CAP_SYS_ADMIN over the sandbox's PID namespace can
//!   claim another pid in its credentials. `MAINPID=` does not move the check.
//! * **Keys** (`filter::FORWARDED_KEYS`): `READY`, `RELOADING`, `STOPPING`, `STATUS`,
//!   `ERRNO`, `BUSERROR`, `EXIT_STATUS`, `WATCHDOG` (`1` and `trigger`), `WATCHDOG_USEC`,
//!   `EXTEND_TIMEOUT_USEC`, `MONOTONIC_USEC`, `FDSTORE`, `FDSTOREREMOVE`, `FDNAME`, `FDPOLL`;
//!   `MAINPID=` is rewritten to the supervisor's pid (a sandboxed payload must not point
//!   systemd at an arbitrary host process; the supervisor is what receives `systemctl
//!   stop`). Everything else is dropped and counted in the run report: `MAINPIDFD=1` and
//!   `MAINPIDFDID=` (they would name another process as the unit's main one), unknown keys.
//!   A message left empty is not sent.
//! * **File descriptors** go with a message carrying `FDSTORE=1`, and the single fd of a
//!   `BARRIER=1` message (sd_notify_barrier(3)), which is forwarded in order behind every
//!   earlier message so systemd's close of it still means "all before it was processed".
//!   Every other fd is closed.
//! * **Back-pressure**: the outgoing socket is connected to `NOTIFY_SOCKET`, so it polls
//!   writable only when systemd's queue has room. Messages wait in a queue of
//!   [`QUEUE_MAX`]; when it is full the relay stops reading, and the payload's sd_notify
//!   blocks as it would on systemd's own socket. Nothing is dropped while the payload runs;
//!   after it ended, what systemd has not taken within [`FINAL_FLUSH`] is counted and warned
//!   about (a second after a wall-time kill). Each wakeup handles at most [`BATCH`] messages each way, so a flood of
//!   datagrams never holds up signal forwarding or the wall-time limit.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "notify_filter.rs"]
pub mod filter;
#[path = "notify_io.rs"]
mod io;
#[path = "notify_queue.rs"]
mod queue;

use io::{pass_credentials, socket, UnixAddr};
#[cfg(test)]
use io::{receive_from, send_to};
pub use queue::sigtimedwait_relaying;

pub use crate::plan::NOTIFY_SANDBOX_PATH;

/// Messages waiting for systemd before the relay stops reading (and senders block).
pub const QUEUE_MAX: usize = 1024;
/// Messages read, and sent, per wakeup of the supervisor's loop.
pub const BATCH: usize = 32;
/// How long stockade waits, once the payload ended, for systemd to take what is queued.
pub const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// The largest message relayed (systemd reads at most 4096 bytes, `NOTIFY_BUFFER_MAX`).
const MAX_MESSAGE: usize = 4096;
/// The most fds relayed with one message (systemd's own limit per message is 768; FDSTORE
/// users pass a handful).
const MAX_FDS: usize = 64;

/// Failures setting up the relay (the payload is not started).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET={0:?}: only absolute paths and abstract (`@`) sockets are supported")]
    UnsupportedAddress(String),
    #[error("NOTIFY_SOCKET={0:?}: the address is longer than a unix socket address can be")]
    AddressTooLong(String),
    #[error("sd_notify relay: {call} {path}: {source}")]
    Io {
        call: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "sd_notify relay: {path} is not a directory owned by uid {uid} and writable only by it"
    )]
    UnsafeDirectory { path: PathBuf, uid: u32 },
}

fn io_err<'a>(
    call: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> NotifyError + 'a {
    move |source| NotifyError::Io {
        call,
        path: path.to_path_buf(),
        source,
    }
}

/// The relay: a private socket the payload sends to, and the real systemd socket.
#[derive(Debug)]
pub struct NotifyRelay {
    /// Bound at `host_path`; the payload's messages arrive here.
    sock: OwnedFd,
    /// Unbound; messages leave through it (from this process, the unit's main PID).
    out: OwnedFd,
    target: String,
    dir: PathBuf,
    /// `dir` and its parent, opened (without following links) before the payload runs:
    /// the socket and its directory are removed through them once the payload runs, since
    /// a profile that binds the runtime directory writable lets it swap names there.
    dir_fd: Option<OwnedFd>,
    parent_fd: Option<OwnedFd>,
    host_path: PathBuf,
    unlinked: bool,
    signal_fd: Option<OwnedFd>,
    /// The supervisor's pid (what `MAINPID=` becomes).
    pid: libc::pid_t,
    warned: bool,
    /// Who may notify, and the payload's main process as the kernel names it to us.
    access: filter::Access,
    main: queue::MainProcess,
    /// `out` is connected to the target (poll says when systemd has room).
    connected: bool,
    queue: std::collections::VecDeque<queue::Outgoing>,
    stats: queue::Stats,
}

/// Where the relay's directory goes: `/run/stockade` as root, else
/// `$XDG_RUNTIME_DIR/stockade`, else `/tmp/stockade-UID`.
fn base_dir(euid: u32) -> PathBuf {
    if euid == 0 {
        return PathBuf::from("/run/stockade");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if Path::new(&d).is_absolute() && Path::new(&d).is_dir() => {
            Path::new(&d).join("stockade")
        }
        _ => PathBuf::from(format!("/tmp/stockade-{euid}")),
    }
}

/// Create `dir` (0700) or accept an existing one only when it is a real directory owned by
/// `euid` and writable by nobody else (so no other user can swap the socket).
fn private_dir(dir: &Path, euid: u32) -> Result<(), NotifyError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("mkdir", dir)(e)),
    }
    let md = std::fs::symlink_metadata(dir).map_err(io_err("lstat", dir))?;
    if !md.file_type().is_dir() || md.uid() != euid || md.mode() & 0o022 != 0 {
        return Err(NotifyError::UnsafeDirectory {
            path: dir.to_path_buf(),
            uid: euid,
        });
    }
    Ok(())
}

/// An O_PATH directory fd for `*at` calls; a symlink at `path` is refused (ELOOP/ENOTDIR).
fn open_dir_nofollow(path: &Path) -> std::io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: NUL-terminated path; the returned fd is ours.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl NotifyRelay {
    /// Set up the relay towards `notify_socket` (the plan's `systemd.notify_socket`);
    /// `all`: any process of the sandbox may notify (`[systemd] notify-access = "all"`).
    pub fn new(notify_socket: &str, all: bool) -> Result<NotifyRelay, NotifyError> {
        // Validate the target first: a bad NOTIFY_SOCKET must fail before anything exists.
        UnixAddr::parse(notify_socket)?;
        // SAFETY: no preconditions.
        let (euid, pid) = unsafe { (libc::geteuid(), libc::getpid()) };
        let base = base_dir(euid);
        private_dir(&base, euid)?;
        let mut n = 0u32;
        let dir = loop {
            let d = base.join(format!("notify.{pid}.{n}"));
            match std::fs::DirBuilder::new().create(&d) {
                Ok(()) => break d,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(io_err("mkdir", &d)(e)),
            }
        };
        let relay = Self::bind_in(dir, notify_socket, pid).map(|mut r| {
            if all {
                r.access = filter::Access::All;
            }
            r
        });
        if relay.is_err() {
            // Nothing may be left behind: the directory was ours and holds at most the socket.
            let _ = std::fs::remove_dir_all(base.join(format!("notify.{pid}.{n}")));
        }
        relay
    }

    fn bind_in(dir: PathBuf, target: &str, pid: libc::pid_t) -> Result<NotifyRelay, NotifyError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err("chmod", &dir))?;
        let host_path = dir.join("notify");
        let path_str = host_path.to_string_lossy().into_owned();
        let addr = UnixAddr::parse(&path_str)?;
        let sock = socket().map_err(io_err("socket", &host_path))?;
        // SAFETY: addr is a valid sockaddr_un of length addr.len.
        let r = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&addr.addr as *const libc::sockaddr_un).cast(),
                addr.len,
            )
        };
        if r < 0 {
            return Err(io_err("bind", &host_path)(std::io::Error::last_os_error()));
        }
        // Any uid inside the sandbox may send; only the sandbox can reach the inode.
        std::fs::set_permissions(&host_path, std::fs::Permissions::from_mode(0o666))
            .map_err(io_err("chmod", &host_path))?;
        // The kernel adds each sender's credentials; without them `main` refuses all.
        if let Err(e) = pass_credentials(sock.as_raw_fd()) {
            crate::log::warn(&format!("sd_notify relay: SO_PASSCRED: {e}"));
        }
        let out = socket().map_err(io_err("socket", Path::new(target)))?;
        // Connected, a datagram socket polls writable only when the receiver has room. A
        // receiver not there yet is retried when the first message goes.
        let connected = io::connect(out.as_raw_fd(), target).is_ok();
        let parent = dir.parent().unwrap_or(Path::new("/"));
        Ok(NotifyRelay {
            sock,
            out,
            target: target.to_string(),
            dir_fd: Some(open_dir_nofollow(&dir).map_err(io_err("open", &dir))?),
            parent_fd: Some(open_dir_nofollow(parent).map_err(io_err("open", parent))?),
            dir,
            host_path,
            unlinked: false,
            signal_fd: None,
            pid,
            warned: false,
            access: filter::Access::Main,
            main: queue::MainProcess::default(),
            connected,
            queue: Default::default(),
            stats: Default::default(),
        })
    }

    /// The host path of the relay socket: the child bind-mounts it at
    /// [`NOTIFY_SANDBOX_PATH`] (before the payload starts; see [`Self::sandbox_ready`]).
    pub fn host_path(&self) -> &Path {
        &self.host_path
    }

    /// The host path as a C string, for the child's mount (prepared before clone).
    pub fn host_path_cstring(&self) -> CString {
        CString::new(self.host_path.as_os_str().as_bytes()).unwrap_or_default()
    }

    /// The receiving socket, for poll(2).
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The payload runs (its mount of the socket exists): remove the host path. The bind
    /// mount keeps the socket reachable inside the sandbox.
    pub fn sandbox_ready(&mut self) {
        if !self.unlinked {
            self.unlinked = true;
            let (Some(dir), Some(parent)) = (self.dir_fd.take(), self.parent_fd.take()) else {
                return;
            };
            let name = self
                .dir
                .file_name()
                .and_then(|n| CString::new(n.as_bytes()).ok());
            // SAFETY: valid dirfds and NUL-terminated names. The socket goes from the
            // directory inode opened before the run; the directory by name from its parent,
            // and AT_REMOVEDIR refuses a symlink put in its place (ENOTDIR).
            unsafe {
                libc::unlinkat(dir.as_raw_fd(), c"notify".as_ptr(), 0);
                if let Some(name) = name {
                    libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR);
                }
            }
        }
    }

    fn warn_once(&mut self, what: &str) {
        if !self.warned {
            self.warned = true;
            crate::log::warn(&format!(
                "sd_notify relay: {what} (NOTIFY_SOCKET={}); later failures are not reported",
                self.target
            ));
        }
    }

    /// A signalfd for `set` (created once): the supervisor's blocked signals, made pollable.
    fn signal_fd(&mut self, set: &libc::sigset_t) -> std::io::Result<RawFd> {
        if let Some(fd) = &self.signal_fd {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: set is an initialized sigset.
        let fd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor we own.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = owned.as_raw_fd();
        self.signal_fd = Some(owned);
        Ok(raw)
    }
}

/// Add the relay socket's bind mount to the prepared mounts, after the plan's own: the child
/// applies the extra mounts just before pivot_root (see `child`), so it lies over anything
/// the profile mounted at /run.
pub fn add_mount(
    prep: &mut super::prepare::Prepared,
    relay: &NotifyRelay,
) -> Result<(), super::ExecError> {
    use super::prepare::{target, PreparedMount, PreparedOp};
    use super::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
    prep.mounts.push(PreparedMount {
        target: target("sd_notify socket", Path::new(NOTIFY_SANDBOX_PATH))?,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        op: PreparedOp::Bind {
            source: relay.host_path_cstring(),
            recursive: false,
            optional: false,
        },
    });
    prep.mount_fds.push(-1);
    Ok(())
}

impl Drop for NotifyRelay {
    fn drop(&mut self) {
        self.sandbox_ready();
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
