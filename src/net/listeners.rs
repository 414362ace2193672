//! The proxy's listening sockets, created by the sandbox's child inside its own network
//! namespace (so they sit on the sandbox's loopback, which the host cannot see and the
//! payload can reach), then handed to the proxy process over a socketpair (SCM_RIGHTS).
//!
//! Runs in the child after clone: no allocation, no panics; errors are `(errno)` for the
//! caller's fixed-size failure record. Ordered before the lockdown steps (the child is
//! still root in its user namespace, so port 53 binds; Landlock's bind rules and seccomp
//! come later and apply to the payload only).

/// The listeners, in the order they are sent: HTTP proxy (TCP), SOCKS5 (TCP), DNS (UDP),
/// DNS (TCP).
pub const COUNT: usize = 4;

fn cvt(r: libc::c_int) -> Result<libc::c_int, i32> {
    if r < 0 {
        // SAFETY: errno location is thread-local and always valid.
        Err(unsafe { *libc::__errno_location() })
    } else {
        Ok(r)
    }
}

fn listener(kind: libc::c_int, port: u16) -> Result<libc::c_int, i32> {
    // SAFETY: plain socket syscalls on integers and a stack sockaddr_in.
    unsafe {
        let fd = cvt(libc::socket(libc::AF_INET, kind | libc::SOCK_CLOEXEC, 0))?;
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if let Err(e) = cvt(r) {
            libc::close(fd);
            return Err(e);
        }
        if kind == libc::SOCK_STREAM {
            if let Err(e) = cvt(libc::listen(fd, 1024)) {
                libc::close(fd);
                return Err(e);
            }
        }
        Ok(fd)
    }
}

/// Create the listeners on the sandbox's 127.0.0.1 and send them over `chan`; the child
/// keeps no copy (only the proxy accepts on them).
pub fn create_and_send(chan: libc::c_int, ports: [u16; 3]) -> Result<(), i32> {
    let [http, socks, dns] = ports;
    let mut fds = [-1; COUNT];
    let kinds = [
        (libc::SOCK_STREAM, http),
        (libc::SOCK_STREAM, socks),
        (libc::SOCK_DGRAM, dns),
        (libc::SOCK_STREAM, dns),
    ];
    let mut result = Ok(());
    for (slot, (kind, port)) in fds.iter_mut().zip(kinds) {
        match listener(kind, port) {
            Ok(fd) => *slot = fd,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = send_fds(chan, &fds);
    }
    for fd in fds {
        if fd >= 0 {
            // SAFETY: closing fds this function opened.
            unsafe { libc::close(fd) };
        }
    }
    // SAFETY: the channel is ours; the proxy holds the other end.
    unsafe { libc::close(chan) };
    result
}

/// Control-message buffer for COUNT fds, aligned for cmsghdr.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

fn send_fds(chan: libc::c_int, fds: &[libc::c_int; COUNT]) -> Result<(), i32> {
    let mut byte = [b'L'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut buf = CmsgBuf([0; 64]);
    let data_len = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic; the buffer holds CMSG_SPACE(16)=32.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    // SAFETY: zeroed msghdr is valid; pointers reference live stack buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at a buffer of `space` bytes, so the first header fits.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
        std::ptr::copy_nonoverlapping(
            fds.as_ptr().cast::<u8>(),
            libc::CMSG_DATA(c),
            data_len as usize,
        );
        cvt(libc::sendmsg(chan, &msg, libc::MSG_NOSIGNAL) as libc::c_int).map(drop)
    }
}

/// The proxy's side: receive the listeners (blocking). `None`: the child died first.
pub fn receive(chan: libc::c_int) -> std::io::Result<Option<[std::os::fd::OwnedFd; COUNT]>> {
    use std::os::fd::FromRawFd;
    let mut byte = [0u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut buf = CmsgBuf([0; 64]);
    // SAFETY: as in send_fds.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf.0.as_mut_ptr().cast();
    msg.msg_controllen = buf.0.len() as _;
    let n = loop {
        // SAFETY: msg points at live buffers.
        let n = unsafe { libc::recvmsg(chan, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break n;
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if n == 0 {
        return Ok(None);
    }
    // SAFETY: the kernel filled msg_control; walk its headers.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
            return Err(std::io::Error::other("no file descriptors received"));
        }
        let want = libc::CMSG_LEN((COUNT * 4) as u32) as usize;
        if (*c).cmsg_len as usize != want {
            return Err(std::io::Error::other("wrong number of file descriptors"));
        }
        let mut raw = [-1i32; COUNT];
        std::ptr::copy_nonoverlapping(libc::CMSG_DATA(c), raw.as_mut_ptr().cast(), COUNT * 4);
        Ok(Some(raw.map(|fd| std::os::fd::OwnedFd::from_raw_fd(fd))))
    }
}
