//! sd_notify senders for the relay tests (tests/notify_relay.rs, tests/vm/notify.test.sh):
//! messages with file descriptors, a barrier, and a flood from several processes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The NOTIFY_SOCKET address (`/path` or `@abstract`) as a sockaddr_un and its length.
fn address() -> Option<(libc::sockaddr_un, libc::socklen_t)> {
    let value = std::env::var("NOTIFY_SOCKET").ok()?;
    let bytes = value.as_bytes();
    // SAFETY: sockaddr_un is plain data; all zeroes is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let (start, name) = match bytes.first() {
        Some(b'@') => (1, &bytes[1..]),
        Some(b'/') => (0, bytes),
        _ => return None,
    };
    if start + name.len() >= addr.sun_path.len() {
        return None;
    }
    for (i, b) in name.iter().enumerate() {
        addr.sun_path[start + i] = *b as libc::c_char;
    }
    let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    let len = base + start + name.len() + usize::from(start == 0);
    Some((addr, len as libc::socklen_t))
}

fn socket() -> OwnedFd {
    // SAFETY: plain integer arguments; checked below.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        super::die("socket(2) failed");
    }
    // SAFETY: a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// One blocking datagram (as libsystemd's sd_pid_notify_with_fds sends it), `fds` attached.
fn send(sock: &OwnedFd, msg: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let Some((addr, len)) = address() else {
        return Err(std::io::Error::other(
            "NOTIFY_SOCKET is not set or not supported",
        ));
    };
    let mut iov = libc::iovec {
        iov_base: msg.as_ptr() as *mut libc::c_void,
        iov_len: msg.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; every pointer set below outlives sendmsg, and the
    // control buffer holds CMSG_SPACE of up to 8 fds.
    unsafe {
        let mut m: libc::msghdr = std::mem::zeroed();
        m.msg_name = (&addr as *const libc::sockaddr_un as *mut libc::sockaddr_un).cast();
        m.msg_namelen = len;
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        if !fds.is_empty() {
            let bytes = std::mem::size_of_val(fds) as u32;
            m.msg_control = control.as_mut_ptr().cast();
            m.msg_controllen = libc::CMSG_SPACE(bytes) as _;
            let c = libc::CMSG_FIRSTHDR(&m);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(bytes) as _;
            let p = libc::CMSG_DATA(c).cast::<RawFd>();
            for (i, fd) in fds.iter().take(8).enumerate() {
                std::ptr::write_unaligned(p.add(i), *fd);
            }
        }
        if libc::sendmsg(sock.as_raw_fd(), &m, libc::MSG_NOSIGNAL) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut p = [-1; 2];
    // SAFETY: p is a valid two-int buffer.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        super::die("pipe2(2) failed");
    }
    // SAFETY: fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) }
}

fn checked(what: &str, r: std::io::Result<()>) {
    if let Err(e) = r {
        super::log(&format!("sending {what}: {e}"));
    }
}

/// `notify-fds`: what a payload may try with descriptors, then `READY=1`. Prints
/// `barrier passed` once the receiver closed the barrier fd (sd_notify_barrier(3)).
pub fn fds() -> i32 {
    let sock = socket();
    // A pidfd of PID 1 (init, or the host's PID 1 without a PID namespace): what a systemd
    // implementing MAINPIDFD= would adopt as the unit's main process.
    // SAFETY: pidfd_open with integer arguments; the result is checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, 1, 0) } as RawFd;
    let pidfd = if pidfd >= 0 {
        // SAFETY: a fresh descriptor we own.
        unsafe { OwnedFd::from_raw_fd(pidfd) }
    } else {
        pipe().0
    };
    checked(
        "MAINPIDFD",
        send(&sock, b"MAINPIDFD=1", &[pidfd.as_raw_fd()]),
    );
    let (stored_r, stored_w) = pipe();
    // SAFETY: writing a live buffer to our pipe.
    unsafe { libc::write(stored_w.as_raw_fd(), b"stored".as_ptr().cast(), 6) };
    drop(stored_w);
    checked(
        "FDSTORE",
        send(
            &sock,
            b"FDSTORE=1\nFDNAME=store\nX_UNKNOWN=1",
            &[stored_r.as_raw_fd()],
        ),
    );
    let (stray, _stray_w) = pipe();
    checked(
        "STATUS with fd",
        send(&sock, b"STATUS=no fd here", &[stray.as_raw_fd()]),
    );
    checked(
        "filtered",
        send(
            &sock,
            b"MAINPIDFDID=12\nBOGUS=1\nMAINPID=1\nSTATUS=filtered\n",
            &[],
        ),
    );
    // sd_notify_barrier(3): the receiver closes the write end once it processed all earlier
    // messages; the read end then sees POLLHUP.
    let (barrier_r, barrier_w) = pipe();
    checked(
        "BARRIER",
        send(&sock, b"BARRIER=1", &[barrier_w.as_raw_fd()]),
    );
    drop(barrier_w);
    let mut pfd = libc::pollfd {
        fd: barrier_r.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, 10_000) };
    super::log(if r > 0 && pfd.revents & libc::POLLHUP != 0 {
        "barrier passed"
    } else {
        "barrier timed out"
    });
    checked("READY", send(&sock, b"READY=1", &[]));
    0
}

/// `notify-flood N`: N processes each sending 4 KiB `STATUS=` datagrams as fast as they
/// can, forever; the main process waits for a signal.
pub fn flood(senders: u32) -> i32 {
    let mut msg = b"STATUS=".to_vec();
    msg.resize(4000, b'x');
    for _ in 0..senders {
        // SAFETY: fork in a single-threaded program; the child only sends, forever.
        if unsafe { libc::fork() } == 0 {
            let sock = socket();
            loop {
                let _ = send(&sock, &msg, &[]);
            }
        }
    }
    super::log(&format!("{senders} senders started"));
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
