//! Tests of the sd_notify relay: address parsing, rewriting, and a real relay between
//! sockets in this process (a stand-in for systemd with SO_PASSCRED).

use super::*;

#[test]
fn rewrites_mainpid_and_keeps_the_rest() {
    let m = rewrite(b"READY=1\nMAINPID=2\nSTATUS=up: MAINPID=9\n", 4242);
    assert_eq!(m, b"READY=1\nMAINPID=4242\nSTATUS=up: MAINPID=9".to_vec());
    assert_eq!(rewrite(b"MAINPIDFDID=77\n", 1), Vec::<u8>::new());
    assert_eq!(rewrite(b"WATCHDOG=1", 1), b"WATCHDOG=1".to_vec());
    let extend = b"EXTEND_TIMEOUT_USEC=5000000\nRELOADING=1\nSTOPPING=1";
    assert_eq!(rewrite(extend, 1), extend.to_vec());
}

#[test]
fn parses_notify_addresses() {
    let a = UnixAddr::parse("/run/systemd/notify").unwrap();
    let base = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    assert_eq!(a.len as usize, base + "/run/systemd/notify".len() + 1);
    let b = UnixAddr::parse("@/org/freedesktop/systemd1/notify/123").unwrap();
    assert_eq!(b.addr.sun_path[0], 0);
    assert_eq!(
        b.len as usize,
        base + 1 + "/org/freedesktop/systemd1/notify/123".len()
    );
    assert!(matches!(
        UnixAddr::parse("vsock:2:1234"),
        Err(NotifyError::UnsupportedAddress(_))
    ));
    assert!(UnixAddr::parse("").is_err());
    assert!(UnixAddr::parse("@").is_err());
    let long = format!("/{}", "x".repeat(200));
    assert!(matches!(
        UnixAddr::parse(&long),
        Err(NotifyError::AddressTooLong(_))
    ));
}

/// A stand-in for systemd's notify socket: bound, SO_PASSCRED on.
fn fake_systemd() -> (OwnedFd, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "stockade-notify-test.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("systemd-notify");
    let sock = socket().unwrap();
    let addr = UnixAddr::parse(path.to_str().unwrap()).unwrap();
    let one: libc::c_int = 1;
    // SAFETY: valid socket, address and option buffers.
    unsafe {
        assert_eq!(
            libc::bind(
                sock.as_raw_fd(),
                (&addr.addr as *const libc::sockaddr_un).cast(),
                addr.len
            ),
            0
        );
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&one as *const libc::c_int).cast(),
            4,
        );
    }
    (sock, path)
}

fn recv_text(sock: &OwnedFd) -> Option<(String, usize, Option<libc::pid_t>, Vec<OwnedFd>)> {
    let mut data = [0u8; MAX_MESSAGE + 1];
    let mut fds = [-1; MAX_FDS];
    let m = receive_from(sock.as_raw_fd(), &mut data, &mut fds).unwrap()?;
    // SAFETY: descriptors just received, owned here.
    let owned = fds[..m.fds]
        .iter()
        .map(|&f| unsafe { OwnedFd::from_raw_fd(f) })
        .collect();
    Some((
        String::from_utf8_lossy(&data[..m.len]).into_owned(),
        m.fds,
        m.pid,
        owned,
    ))
}

#[test]
fn relays_messages_and_fds_from_our_own_pid() {
    let (systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap()).unwrap();
    let host_path = relay.host_path().to_path_buf();
    let md = std::fs::metadata(&host_path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(md.permissions().mode() & 0o777, 0o666);
    let dir_mode = std::fs::metadata(host_path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    // The "payload": a separate socket sending to the relay's path, with a pipe fd.
    let client = socket().unwrap();
    let (pipe_r, pipe_w) = nix::unistd::pipe().unwrap();
    send_to(
        client.as_raw_fd(),
        host_path.to_str().unwrap(),
        b"READY=1\nMAINPID=1\nSTATUS=listening on :8080\n",
        &[pipe_r.as_raw_fd()],
    )
    .unwrap();
    send_to(
        client.as_raw_fd(),
        host_path.to_str().unwrap(),
        b"WATCHDOG=1",
        &[],
    )
    .unwrap();
    assert_eq!(relay.pump(), 2);
    let (text, nfds, pid, fds) = recv_text(&systemd).unwrap();
    let me = std::process::id() as libc::pid_t;
    assert_eq!(
        text,
        format!("READY=1\nMAINPID={me}\nSTATUS=listening on :8080")
    );
    assert_eq!(nfds, 1);
    assert_eq!(pid, Some(me), "systemd sees the relay's (main) pid");
    // The forwarded fd is the same pipe: what we write arrives at its other end.
    nix::unistd::write(&pipe_w, b"x").unwrap();
    let mut b = [0u8; 1];
    assert_eq!(nix::unistd::read(&fds[0], &mut b).unwrap(), 1);
    let (text, nfds, _, _) = recv_text(&systemd).unwrap();
    assert_eq!((text.as_str(), nfds), ("WATCHDOG=1", 0));
    assert!(recv_text(&systemd).is_none());

    // Once the payload runs, nothing of the relay remains on the host's filesystem.
    relay.sandbox_ready();
    assert!(!host_path.exists());
    assert!(!host_path.parent().unwrap().exists());
    let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
}

#[test]
fn waiting_relays_until_a_signal_or_the_timeout() {
    let (systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap()).unwrap();
    let client = socket().unwrap();
    send_to(
        client.as_raw_fd(),
        relay.host_path().to_str().unwrap(),
        b"STOPPING=1",
        &[],
    )
    .unwrap();
    // SAFETY: sigset manipulation on locals; the signal is blocked in this thread only
    // and sent to this thread only.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    // SAFETY: siginfo_t is plain data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = sigtimedwait_relaying(
        &set,
        &mut info,
        Some(Duration::from_millis(100)),
        Some(&mut relay),
    );
    assert_eq!(r, -1);
    assert_eq!(nix::errno::Errno::last(), nix::errno::Errno::EAGAIN);
    assert_eq!(recv_text(&systemd).unwrap().0, "STOPPING=1");
    // SAFETY: signalling our own thread.
    unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGUSR2) };
    let r = sigtimedwait_relaying(&set, &mut info, None, Some(&mut relay));
    assert_eq!(r, libc::SIGUSR2);
    // SAFETY: restoring this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    drop(relay);
    let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
}

#[test]
fn a_bad_notify_socket_leaves_nothing_behind() {
    assert!(matches!(
        NotifyRelay::new("vsock:2:99"),
        Err(NotifyError::UnsupportedAddress(_))
    ));
}

#[test]
fn cleanup_after_the_payload_started_follows_no_swapped_name() {
    let (_systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap()).unwrap();
    let host_path = relay.host_path().to_path_buf();
    let dir = host_path.parent().unwrap().to_path_buf();
    // What a payload with the runtime directory bound writable could do once it runs:
    // move the relay directory away and put a link to a victim directory in its place.
    let moved = dir.with_extension("moved");
    let victim = dir.with_extension("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("notify"), b"keep").unwrap();
    std::fs::rename(&dir, &moved).unwrap();
    std::os::unix::fs::symlink(&victim, &dir).unwrap();
    relay.sandbox_ready();
    let victim_kept = std::fs::read(victim.join("notify"));
    let socket_gone = !moved.join("notify").exists();
    let link_kept = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink());
    let _ = std::fs::remove_file(&dir);
    let _ = std::fs::remove_dir_all(&moved);
    let _ = std::fs::remove_dir_all(&victim);
    assert_eq!(
        victim_kept.unwrap(),
        b"keep",
        "unlinked through the planted link"
    );
    assert!(socket_gone, "the relay's own socket was not removed");
    assert!(link_kept, "AT_REMOVEDIR must refuse the link");
}
