//! Tests of the sd_notify relay: address parsing, the allow-list, and a real relay between
//! sockets in this process (a stand-in for systemd with SO_PASSCRED).

use super::filter::{filter, Access, Filtered};
use super::*;
use std::time::Instant;

fn text(f: &Filtered) -> &str {
    std::str::from_utf8(&f.text).unwrap()
}

#[test]
fn rewrites_mainpid_and_keeps_the_allowed_keys() {
    let m = filter(b"READY=1\nMAINPID=2\nSTATUS=up: MAINPID=9\n", 4242);
    assert_eq!(text(&m), "READY=1\nMAINPID=4242\nSTATUS=up: MAINPID=9");
    assert!(m.dropped.is_empty() && !m.keep_fds);
    for kept in [
        "WATCHDOG=1",
        "WATCHDOG=trigger",
        "WATCHDOG_USEC=5000000",
        "EXTEND_TIMEOUT_USEC=5000000\nRELOADING=1\nMONOTONIC_USEC=123\nSTOPPING=1",
        "ERRNO=2\nBUSERROR=org.freedesktop.DBus.Error.Failed\nEXIT_STATUS=3",
        "FDSTOREREMOVE=1\nFDNAME=old",
    ] {
        assert_eq!(text(&filter(kept.as_bytes(), 1)), kept);
    }
}

#[test]
fn drops_what_is_not_on_the_allow_list() {
    let m = filter(b"MAINPIDFDID=77\n", 1);
    assert_eq!(
        (text(&m), m.dropped.as_slice()),
        ("", ["MAINPIDFDID".to_owned()].as_slice())
    );
    let m = filter(b"MAINPIDFD=1", 1);
    assert!(m.text.is_empty() && !m.keep_fds, "a pidfd never passes");
    let m = filter(
        b"X_SYSTEMD_UNIT_ACTIVE=x\nREADY=1\nnonsense\nSTATUS=a\0b",
        1,
    );
    assert_eq!(text(&m), "READY=1");
    assert_eq!(
        m.dropped,
        ["X_SYSTEMD_UNIT_ACTIVE", "(malformed)", "(malformed)"]
    );
    let long = format!("{}=1", "K".repeat(500));
    assert_eq!(filter(long.as_bytes(), 1).dropped[0].len(), 64);
}

#[test]
fn fds_go_only_with_fdstore_and_a_lone_barrier() {
    let m = filter(b"FDSTORE=1\nFDNAME=db\nFDPOLL=0", 1);
    assert_eq!(text(&m), "FDSTORE=1\nFDNAME=db\nFDPOLL=0");
    assert!(m.keep_fds && !m.barrier);
    assert!(!filter(b"FDSTORE=0\nFDNAME=db", 1).keep_fds);
    assert!(!filter(b"STATUS=x", 1).keep_fds);
    let b = filter(b"BARRIER=1\n", 1);
    assert_eq!(text(&b), "BARRIER=1");
    assert!(b.keep_fds && b.barrier);
    // Not alone: systemd takes it as an ordinary message; BARRIER= is then unknown.
    let b = filter(b"BARRIER=1\nREADY=1", 1);
    assert_eq!(text(&b), "READY=1");
    assert!(!b.keep_fds && !b.barrier);
    // Left empty: nothing is sent, so no fd either.
    assert!(!filter(b"FDSTORE=1x", 1).keep_fds);
}

#[test]
fn notifyaccess_is_applied_not_forwarded() {
    for (v, a) in [
        ("main", Access::Main),
        ("exec", Access::Main),
        ("all", Access::All),
        ("none", Access::None),
    ] {
        let m = filter(format!("NOTIFYACCESS={v}\nREADY=1").as_bytes(), 1);
        assert_eq!((text(&m), m.access), ("READY=1", Some(a)));
    }
    assert_eq!(filter(b"NOTIFYACCESS=some", 1).access, None);
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
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), false).unwrap();
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
        Some(host_path.to_str().unwrap()),
        b"READY=1\nMAINPID=1\nSTATUS=listening on :8080\nFDSTORE=1\n",
        &[pipe_r.as_raw_fd()],
    )
    .unwrap();
    send_to(
        client.as_raw_fd(),
        Some(host_path.to_str().unwrap()),
        b"WATCHDOG=1",
        &[],
    )
    .unwrap();
    // The payload's main process is this test.
    relay.set_main(std::process::id() as libc::pid_t);
    assert_eq!(relay.pump(), 2);
    let (text, nfds, pid, fds) = recv_text(&systemd).unwrap();
    let me = std::process::id() as libc::pid_t;
    assert_eq!(
        text,
        format!("READY=1\nMAINPID={me}\nSTATUS=listening on :8080\nFDSTORE=1")
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
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), false).unwrap();
    relay.set_main(std::process::id() as libc::pid_t);
    let client = socket().unwrap();
    send_to(
        client.as_raw_fd(),
        Some(relay.host_path().to_str().unwrap()),
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
        &mut [],
        -1,
    );
    assert_eq!(r, -1);
    assert_eq!(nix::errno::Errno::last(), nix::errno::Errno::EAGAIN);
    assert_eq!(recv_text(&systemd).unwrap().0, "STOPPING=1");
    // SAFETY: signalling our own thread.
    unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGUSR2) };
    let r = sigtimedwait_relaying(&set, &mut info, None, Some(&mut relay), &mut [], -1);
    assert_eq!(r, libc::SIGUSR2);
    // SAFETY: restoring this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    drop(relay);
    let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
}

#[test]
fn a_bad_notify_socket_leaves_nothing_behind() {
    assert!(matches!(
        NotifyRelay::new("vsock:2:99", false),
        Err(NotifyError::UnsupportedAddress(_))
    ));
}

#[test]
fn cleanup_after_the_payload_started_follows_no_swapped_name() {
    let (_systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), false).unwrap();
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

/// Send `msg` to `path` from a forked child (another pid), and wait for it.
fn send_from_child(path: &Path, msg: &[u8]) {
    let path = path.to_str().unwrap().to_owned();
    // SAFETY: the child only uses the socket and exits; the parent reaps it.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let c = socket().unwrap();
            let ok = send_to(c.as_raw_fd(), Some(&path), msg, &[]).is_ok();
            libc::_exit(i32::from(!ok));
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        assert_eq!(st, 0, "the child could not send");
    }
}

#[test]
fn under_main_only_the_main_process_is_relayed() {
    for (all, want) in [
        (false, vec!["STATUS=main"]),
        (true, vec!["READY=1", "STATUS=main"]),
    ] {
        let (systemd, systemd_path) = fake_systemd();
        let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), all).unwrap();
        relay.set_main(std::process::id() as libc::pid_t);
        let host_path = relay.host_path().to_path_buf();
        send_from_child(&host_path, b"READY=1");
        let client = socket().unwrap();
        send_to(
            client.as_raw_fd(),
            Some(host_path.to_str().unwrap()),
            b"STATUS=main",
            &[],
        )
        .unwrap();
        relay.pump();
        let mut got = Vec::new();
        while let Some((t, _, _, _)) = recv_text(&systemd) {
            got.push(t);
        }
        assert_eq!(got, want, "all = {all}");
        assert_eq!(relay.report().refused_senders, u64::from(!all));
        drop(relay);
        let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
    }
}

#[test]
fn a_full_receiver_delays_messages_and_loses_none() {
    let (systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), false).unwrap();
    relay.set_main(std::process::id() as libc::pid_t);
    let host = relay.host_path().to_str().unwrap().to_owned();
    let client = socket().unwrap();
    // More than both socket queues hold (net.unix.max_dgram_qlen): the rest waits in the
    // relay's queue, whose reads stop at QUEUE_MAX (the sender then sees EAGAIN, or blocks).
    let total = 300;
    for i in 0..total {
        let msg = format!("STATUS={i}");
        while let Err(e) = send_to(client.as_raw_fd(), Some(&host), msg.as_bytes(), &[]) {
            assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
            relay.pump();
        }
    }
    // Each pump reads at most BATCH.
    assert!(relay.pump() <= BATCH);
    let mut got = Vec::new();
    while got.len() < total {
        match recv_text(&systemd) {
            Some((t, _, _, _)) => got.push(t),
            None => {
                let before = relay.report().forwarded;
                let n = relay.pump();
                let progress = n > 0 || relay.report().forwarded > before;
                assert!(progress, "{} of {total}: {:?}", got.len(), relay.report());
            }
        }
    }
    let want: Vec<String> = (0..total).map(|i| format!("STATUS={i}")).collect();
    assert_eq!(got, want);
    relay.finish(false);
    let r = relay.report();
    assert_eq!((r.forwarded, r.undelivered), (total as u64, 0));
    let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
}

#[test]
fn what_systemd_never_takes_is_counted_after_the_final_flush() {
    let (_systemd, systemd_path) = fake_systemd();
    let mut relay = NotifyRelay::new(systemd_path.to_str().unwrap(), false).unwrap();
    relay.set_main(std::process::id() as libc::pid_t);
    let host = relay.host_path().to_str().unwrap().to_owned();
    let client = socket().unwrap();
    for i in 0..40 {
        let msg = format!("STATUS={i}");
        while send_to(client.as_raw_fd(), Some(&host), msg.as_bytes(), &[]).is_err() {
            relay.pump();
        }
    }
    let t0 = Instant::now();
    relay.finish(true);
    let after_timeout = t0.elapsed();
    assert!(after_timeout >= Duration::from_secs(1) && after_timeout < FINAL_FLUSH);
    let r = relay.report();
    assert_eq!(r.forwarded + r.undelivered, 40, "{r:?}");
    assert!(r.undelivered > 0);
    let _ = std::fs::remove_dir_all(systemd_path.parent().unwrap());
}
