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
//! Messages pass through unchanged except `MAINPID=`, rewritten to the supervisor's pid (a
//! sandboxed payload must not point systemd at an arbitrary host process; the supervisor is
//! what receives `systemctl stop`), and `MAINPIDFDID=`, dropped for the same reason. File
//! descriptors (`FDSTORE=1`, `BARRIER=1`) are forwarded with SCM_RIGHTS.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::plan::NOTIFY_SANDBOX_PATH;

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

/// A unix socket address (`sockaddr_un` and its length).
#[derive(Clone, Copy)]
struct UnixAddr {
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl UnixAddr {
    /// Parse a NOTIFY_SOCKET value: `/path` or `@abstract`.
    fn parse(value: &str) -> Result<UnixAddr, NotifyError> {
        let bytes = value.as_bytes();
        let (abstract_ns, name) = match bytes.first() {
            Some(b'/') => (false, bytes),
            Some(b'@') => (true, &bytes[1..]),
            _ => return Err(NotifyError::UnsupportedAddress(value.to_string())),
        };
        // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let start = usize::from(abstract_ns);
        // A path needs its NUL terminator inside sun_path; an abstract name does not.
        let room = addr.sun_path.len() - usize::from(!abstract_ns);
        if name.is_empty() || name.contains(&0) || start + name.len() > room {
            return Err(if name.len() + start > room {
                NotifyError::AddressTooLong(value.to_string())
            } else {
                NotifyError::UnsupportedAddress(value.to_string())
            });
        }
        for (i, b) in name.iter().enumerate() {
            addr.sun_path[start + i] = *b as libc::c_char;
        }
        let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        let len = base + start + name.len() + usize::from(!abstract_ns);
        Ok(UnixAddr {
            addr,
            len: len as libc::socklen_t,
        })
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
    pid: libc::pid_t,
    warned: bool,
}

impl std::fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnixAddr(len {})", self.len)
    }
}

fn socket() -> std::io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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
    /// Set up the relay towards `notify_socket` (the plan's `systemd.notify_socket`).
    pub fn new(notify_socket: &str) -> Result<NotifyRelay, NotifyError> {
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
        let relay = Self::bind_in(dir, notify_socket, pid);
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
        let out = socket().map_err(io_err("socket", Path::new(target)))?;
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

    /// Relay every message waiting on the socket. Never blocks; errors are reported once
    /// and never stop the payload. Returns how many messages were forwarded.
    pub fn pump(&mut self) -> usize {
        let mut forwarded = 0;
        loop {
            let mut data = [0u8; MAX_MESSAGE + 1];
            let mut fds = [-1 as RawFd; MAX_FDS];
            match self.receive(&mut data, &mut fds) {
                Ok(None) => return forwarded,
                Ok(Some((len, nfds, truncated))) => {
                    let owned: Vec<OwnedFd> = fds[..nfds]
                        .iter()
                        // SAFETY: the kernel just installed these descriptors for us.
                        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                        .collect();
                    if truncated {
                        self.warn_once("dropped a message longer than 4096 bytes or with too many file descriptors");
                        continue;
                    }
                    let text = rewrite(&data[..len], self.pid);
                    if text.is_empty() {
                        continue;
                    }
                    match self.send(&text, &owned) {
                        Ok(()) => forwarded += 1,
                        Err(e) => self.warn_once(&format!("forwarding to systemd failed: {e}")),
                    }
                }
                Err(e) => {
                    self.warn_once(&format!("recvmsg(2): {e}"));
                    return forwarded;
                }
            }
        }
    }

    fn receive(
        &self,
        data: &mut [u8],
        fds: &mut [RawFd; MAX_FDS],
    ) -> std::io::Result<Option<(usize, usize, bool)>> {
        receive_from(self.sock.as_raw_fd(), data, fds)
            .map(|r| r.map(|m| (m.len, m.fds, m.truncated)))
    }

    fn send(&self, text: &[u8], fds: &[OwnedFd]) -> std::io::Result<()> {
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        send_to(self.out.as_raw_fd(), &self.target, text, &raw)
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

/// One received datagram.
struct Received {
    len: usize,
    fds: usize,
    truncated: bool,
    /// The sender's pid, when the socket has SO_PASSCRED.
    #[cfg_attr(not(test), allow(dead_code))]
    pid: Option<libc::pid_t>,
}

/// One datagram from `sock` (non-blocking): `Ok(None)` when nothing is waiting. Received
/// fds land in `fds` (close-on-exec); fds beyond its size are closed and mark `truncated`.
fn receive_from(
    sock: RawFd,
    data: &mut [u8],
    fds: &mut [RawFd; MAX_FDS],
) -> std::io::Result<Option<Received>> {
    // u64 alignment satisfies cmsghdr's.
    let mut control = [0u64; 64 + MAX_FDS / 2];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; the pointers set below stay valid across recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: msg describes live buffers.
        let n =
            unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            _ => return Err(e),
        }
    };
    let mut nfds = 0;
    let mut pid = None;
    let mut truncated = n > MAX_MESSAGE || msg.msg_flags & libc::MSG_CTRUNC != 0;
    // SAFETY: walking the control buffer the kernel filled, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let payload = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let count = payload / std::mem::size_of::<RawFd>();
                let p = libc::CMSG_DATA(c).cast::<RawFd>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(p.add(i));
                    if nfds < MAX_FDS {
                        fds[nfds] = fd;
                        nfds += 1;
                    } else {
                        libc::close(fd);
                        truncated = true;
                    }
                }
            }
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_CREDENTIALS {
                let cred = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>());
                pid = Some(cred.pid);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Some(Received {
        len: n.min(MAX_MESSAGE),
        fds: nfds,
        truncated,
        pid,
    }))
}

/// Send `text` with `fds` (SCM_RIGHTS) from `out` to the NOTIFY_SOCKET address `target`.
fn send_to(out: RawFd, target: &str, text: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(std::io::Error::from_raw_os_error(libc::ETOOMANYREFS));
    }
    let addr = UnixAddr::parse(target).map_err(std::io::Error::other)?;
    let mut iov = libc::iovec {
        iov_base: text.as_ptr() as *mut libc::c_void,
        iov_len: text.len(),
    };
    let mut control = [0u64; 64 + MAX_FDS / 2];
    // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&addr.addr as *const libc::sockaddr_un as *mut libc::sockaddr_un).cast();
    msg.msg_namelen = addr.len;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let bytes = std::mem::size_of_val(fds) as u32;
        // SAFETY: CMSG_SPACE fits `control` (MAX_FDS fds); the header is written in it.
        unsafe {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(bytes) as _;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
            let p = libc::CMSG_DATA(c).cast::<RawFd>();
            for (i, fd) in fds.iter().enumerate() {
                std::ptr::write_unaligned(p.add(i), *fd);
            }
        }
    }
    loop {
        // SAFETY: msg describes live buffers.
        let r = unsafe { libc::sendmsg(out, &msg, libc::MSG_NOSIGNAL) };
        if r >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
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

/// Rewrite one notification: `MAINPID=` names the supervisor, `MAINPIDFDID=` is dropped;
/// everything else passes through byte for byte.
pub fn rewrite(msg: &[u8], supervisor_pid: libc::pid_t) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    for line in msg.split(|b| *b == b'\n') {
        if line.is_empty() || line.starts_with(b"MAINPIDFDID=") {
            continue;
        }
        if !out.is_empty() {
            out.push(b'\n');
        }
        if line.starts_with(b"MAINPID=") {
            out.extend_from_slice(format!("MAINPID={supervisor_pid}").as_bytes());
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// `sigtimedwait(set, timeout)` that also relays notifications while it waits.
///
/// Same contract as sigtimedwait(2), so the supervisor's loop is unchanged: the signal number,
/// or -1 with errno EAGAIN when `timeout` passed (EINTR never escapes). Without a relay it is
/// sigtimedwait itself. With one, the blocked signals are watched through a signalfd next to
/// the relay socket; a readable signalfd is consumed with a zero-timeout sigtimedwait.
pub fn sigtimedwait_relaying(
    set: &libc::sigset_t,
    info: &mut libc::siginfo_t,
    timeout: Option<Duration>,
    relay: Option<&mut NotifyRelay>,
) -> libc::c_int {
    let Some(relay) = relay else {
        let ts = timeout.map(timespec);
        // SAFETY: set is initialized; ts lives across the call.
        return unsafe {
            libc::sigtimedwait(
                set,
                info,
                ts.as_ref().map_or(std::ptr::null(), |t| t as *const _),
            )
        };
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let sfd = match relay.signal_fd(set) {
        Ok(fd) => fd,
        Err(e) => {
            relay.warn_once(&format!("signalfd(2): {e}; relaying stops"));
            let ts = timeout.map(timespec);
            // SAFETY: as above.
            return unsafe {
                libc::sigtimedwait(
                    set,
                    info,
                    ts.as_ref().map_or(std::ptr::null(), |t| t as *const _),
                )
            };
        }
    };
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // A signal already pending wins (and is consumed, exactly as sigtimedwait would).
        // SAFETY: set is initialized; zero lives across the call.
        let sig = unsafe { libc::sigtimedwait(set, info, &zero) };
        if sig > 0 {
            return sig;
        }
        let wait_ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    set_errno(libc::EAGAIN);
                    return -1;
                }
                // Round up so a sub-millisecond remainder does not spin.
                left.as_millis().saturating_add(1).min(i32::MAX as u128) as libc::c_int
            }
        };
        let mut pfd = [
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: relay.fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: pfd is a live array of two pollfd.
        let r = unsafe { libc::poll(pfd.as_mut_ptr(), 2, wait_ms) };
        if r > 0 && pfd[1].revents != 0 {
            relay.pump();
        }
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
