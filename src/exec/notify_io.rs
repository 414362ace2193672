//! The relay's socket plumbing: NOTIFY_SOCKET addresses, one datagram in with its fds and
//! sender credentials, one datagram out with its fds.

use super::{NotifyError, MAX_FDS, MAX_MESSAGE};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A unix socket address (`sockaddr_un` and its length).
#[derive(Clone, Copy)]
pub(super) struct UnixAddr {
    pub(super) addr: libc::sockaddr_un,
    pub(super) len: libc::socklen_t,
}

impl UnixAddr {
    /// Parse a NOTIFY_SOCKET value: `/path` or `@abstract`.
    pub(super) fn parse(value: &str) -> Result<UnixAddr, NotifyError> {
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

impl std::fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnixAddr(len {})", self.len)
    }
}

pub(super) fn socket() -> std::io::Result<OwnedFd> {
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

/// `connect(2)` `sock` to `target`: a connected datagram socket polls writable only when
/// the receiver's queue has room, which is what lets the relay wait instead of dropping.
pub(super) fn connect(sock: RawFd, target: &str) -> std::io::Result<()> {
    let addr = UnixAddr::parse(target).map_err(std::io::Error::other)?;
    // SAFETY: addr is a valid sockaddr_un of length addr.len.
    let r = unsafe {
        libc::connect(
            sock,
            (&addr.addr as *const libc::sockaddr_un).cast(),
            addr.len,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Ask for the sender's credentials with every datagram (SCM_CREDENTIALS).
pub(super) fn pass_credentials(sock: RawFd) -> std::io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket and a 4-byte option buffer.
    let r = unsafe {
        libc::setsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// One received datagram.
pub(super) struct Received {
    pub(super) len: usize,
    pub(super) fds: usize,
    pub(super) truncated: bool,
    /// The sender's pid, when the socket has SO_PASSCRED: the kernel gives it as seen from
    /// the receiver's PID namespace (the payload's host pid, not its pid inside).
    pub(super) pid: Option<libc::pid_t>,
}

/// One datagram from `sock` (non-blocking): `Ok(None)` when nothing is waiting. Received
/// fds land in `fds` (close-on-exec); fds beyond its size are closed and mark `truncated`.
pub(super) fn receive_from(
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

/// Send `text` with `fds` (SCM_RIGHTS) from `out` to the NOTIFY_SOCKET address `target`,
/// or to the connected peer when `target` is None. Never blocks (the socket is non-blocking).
pub(super) fn send_to(
    out: RawFd,
    target: Option<&str>,
    text: &[u8],
    fds: &[RawFd],
) -> std::io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(std::io::Error::from_raw_os_error(libc::ETOOMANYREFS));
    }
    let addr = target
        .map(UnixAddr::parse)
        .transpose()
        .map_err(std::io::Error::other)?;
    let mut iov = libc::iovec {
        iov_base: text.as_ptr() as *mut libc::c_void,
        iov_len: text.len(),
    };
    let mut control = [0u64; 64 + MAX_FDS / 2];
    // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(addr) = &addr {
        msg.msg_name = (&addr.addr as *const libc::sockaddr_un as *mut libc::sockaddr_un).cast();
        msg.msg_namelen = addr.len;
    }
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
