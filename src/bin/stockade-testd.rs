//! stockade-testd: a small service for testing stockade under systemd (and a tiny static
//! web server for the examples). No dependencies beyond the crate's own.
//!
//! ```text
//! stockade-testd serve [--listen ADDR:PORT] [--dir DIR] [--term-exit CODE]
//!                      [--watchdog-stop-after SECS]
//! stockade-testd probe            isolation facts as one JSON line on stdout
//! stockade-testd get ADDR:PORT PATH
//!                                 HTTP/1.0 GET; prints the body, exit 0 on 200
//! stockade-testd hog              allocate and touch memory until killed
//! stockade-testd count-signals    print `ready`, then one line per delivered SIGHUP,
//!                                 SIGUSR1, SIGUSR2, SIGRTMIN+1; exit 0 on SIGTERM
//! stockade-testd notify-status N [wait]
//!                                 send STATUS=1 ... STATUS=N, then READY=1; exit 0, or
//!                                 with `wait` stay until SIGTERM
//! stockade-testd notify-from-child MSG
//!                                 a child sends MSG; once it exited the main process
//!                                 sends `STATUS=main process here` and waits for SIGTERM
//! stockade-testd notify-fds       MAINPIDFD=, FDSTORE=, stray fds, unknown keys, a barrier
//! stockade-testd notify-flood N   N processes flooding 4 KiB STATUS= datagrams forever
//! ```
//!
//! `serve` listens on the socket-activation fd 3 when `LISTEN_FDS`/`LISTEN_PID` say it is
//! ours, else on `--listen` (default 127.0.0.1:8080); only then does it send `READY=1`
//! (sd_notify, when `NOTIFY_SOCKET` is set). It answers `GET /facts` (the probe's JSON),
//! `GET /exit/N` (answers, then exits with N), and files below `--dir`. Signals: SIGHUP
//! reloads (`RELOADING=1` … `READY=1`), SIGTERM sends `STOPPING=1` and exits with
//! `--term-exit` (default 0), SIGUSR1 stops the watchdog pings (`WATCHDOG=1` every half
//! `WATCHDOG_USEC` when the watchdog is ours), as does `--watchdog-stop-after`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[path = "testd/notify.rs"]
mod notify_cmds;

fn log(msg: &str) {
    // Plain stdout lines: under systemd they land in the journal, tests grep them.
    println!("testd: {msg}");
    let _ = std::io::stdout().flush();
}

fn die(msg: &str) -> ! {
    eprintln!("stockade-testd: {msg}");
    std::process::exit(2)
}

/// sd_notify(3) without libsystemd: one datagram to `NOTIFY_SOCKET` (path or `@abstract`).
fn notify(msg: &str) {
    let Ok(addr) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let r = if let Some(name) = addr.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
    } else {
        sock.send_to(msg.as_bytes(), &addr)
    };
    if let Err(e) = r {
        log(&format!("sd_notify {msg:?} to {addr}: {e}"));
    }
}

fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

/// What the process sees of its confinement.
fn facts() -> serde_json::Value {
    let mut ns = serde_json::Map::new();
    for n in ["mnt", "pid", "net", "user", "uts", "ipc", "cgroup"] {
        let v = std::fs::read_link(format!("/proc/self/ns/{n}"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        ns.insert(n.into(), v.into());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let interfaces: Vec<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|s| s.trim().to_string()))
        .collect();
    // SAFETY: no preconditions.
    let (pid, ppid, uid, gid) = unsafe {
        (
            libc::getpid(),
            libc::getppid(),
            libc::getuid(),
            libc::getgid(),
        )
    };
    serde_json::json!({
        "pid": pid,
        "ppid": ppid,
        "uid": uid,
        "gid": gid,
        "ns": ns,
        "cap_eff": status_field(&status, "CapEff:"),
        "cap_bnd": status_field(&status, "CapBnd:"),
        "seccomp": status_field(&status, "Seccomp:"),
        "no_new_privs": status_field(&status, "NoNewPrivs:"),
        "interfaces": interfaces,
        "cgroup": std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default().trim(),
        "notify_socket": std::env::var("NOTIFY_SOCKET").ok(),
        "listen_fds": std::env::var("LISTEN_FDS").ok(),
        "listen_pid": std::env::var("LISTEN_PID").ok(),
        "watchdog_usec": std::env::var("WATCHDOG_USEC").ok(),
        "watchdog_pid": std::env::var("WATCHDOG_PID").ok(),
    })
}

/// The socket-activation listener, when systemd passed one to this very process.
fn activated_listener() -> Option<TcpListener> {
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    let pid: i32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    // SAFETY: getpid has no preconditions.
    if fds < 1 || pid != unsafe { libc::getpid() } {
        return None;
    }
    // SAFETY: fd 3 was passed to us (LISTEN_PID is our pid); we take ownership of it.
    unsafe {
        libc::fcntl(3, libc::F_SETFD, libc::FD_CLOEXEC);
        Some(TcpListener::from_raw_fd(3))
    }
}

struct Options {
    listen: String,
    dir: Option<String>,
    term_exit: i32,
    watchdog_stop_after: Option<Duration>,
}

fn parse_serve(args: &[String]) -> Options {
    let mut o = Options {
        listen: "127.0.0.1:8080".into(),
        dir: None,
        term_exit: 0,
        watchdog_stop_after: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--listen" => o.listen = val(),
            "--dir" => o.dir = Some(val()),
            "--term-exit" => {
                o.term_exit = val()
                    .parse()
                    .unwrap_or_else(|_| die("--term-exit: not a number"))
            }
            "--watchdog-stop-after" => {
                let s: u64 = val()
                    .parse()
                    .unwrap_or_else(|_| die("--watchdog-stop-after: not a number"));
                o.watchdog_stop_after = Some(Duration::from_secs(s));
            }
            other => die(&format!("unknown option {other}")),
        }
    }
    o
}

fn signal_fd() -> RawFd {
    // SAFETY: building and installing a signal mask on locals; signalfd on that mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGUSR1] {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            die("signalfd failed");
        }
        fd
    }
}

fn next_signal(fd: RawFd) -> Option<i32> {
    // SAFETY: reading one signalfd_siginfo into a plain-data buffer.
    unsafe {
        let mut info: libc::signalfd_siginfo = std::mem::zeroed();
        let n = libc::read(
            fd,
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            std::mem::size_of::<libc::signalfd_siginfo>(),
        );
        (n == std::mem::size_of::<libc::signalfd_siginfo>() as isize)
            .then_some(info.ssi_signo as i32)
    }
}

fn monotonic_usec() -> u64 {
    // SAFETY: clock_gettime into a local.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// The watchdog interval, when the service manager's watchdog is meant for this process.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(p) = std::env::var("WATCHDOG_PID") {
        // SAFETY: getpid has no preconditions.
        if p.parse::<i32>().ok() != Some(unsafe { libc::getpid() }) {
            log(&format!("WATCHDOG_PID={p} is not me: no watchdog pings"));
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

fn respond(mut s: TcpStream, code: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.0 {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// Handle one connection; returns an exit code when the request asks to exit.
fn handle(mut s: TcpStream, o: &Options) -> Option<i32> {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 2048];
    let n = s.read(&mut buf).unwrap_or(0);
    let req = String::from_utf8_lossy(&buf[..n]);
    let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
    if path == "/facts" {
        respond(s, "200 OK", format!("{}\n", facts()).as_bytes());
        return None;
    }
    if let Some(code) = path.strip_prefix("/exit/") {
        let code = code.parse().unwrap_or(1);
        respond(s, "200 OK", format!("exiting with {code}\n").as_bytes());
        log(&format!("exit requested: {code}"));
        return Some(code);
    }
    if let Some(dir) = &o.dir {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "index.html" } else { rel };
        if !rel.split('/').any(|c| c == "..") {
            if let Ok(data) = std::fs::read(std::path::Path::new(dir).join(rel)) {
                respond(s, "200 OK", &data);
                return None;
            }
        }
    }
    respond(s, "404 Not Found", b"not found\n");
    None
}

fn serve(args: &[String]) -> i32 {
    let o = parse_serve(args);
    let sfd = signal_fd();
    let (listener, what) = match activated_listener() {
        Some(l) => (l, "fd 3 (socket activation)".to_string()),
        None => match TcpListener::bind(&o.listen) {
            Ok(l) => (l, o.listen.clone()),
            Err(e) => die(&format!("bind {}: {e}", o.listen)),
        },
    };
    let _ = listener.set_nonblocking(true);
    let started = Instant::now();
    let mut watchdog = watchdog_interval();
    let mut last_ping = Instant::now();
    let mut reloads = 0u32;
    log(&format!("listening on {what}"));
    notify(&format!("READY=1\nSTATUS=serving on {what}"));
    if watchdog.is_some() {
        notify("WATCHDOG=1");
    }
    loop {
        if let (Some(_), Some(after)) = (watchdog, o.watchdog_stop_after) {
            if started.elapsed() >= after {
                log("watchdog pings stopped (--watchdog-stop-after)");
                watchdog = None;
            }
        }
        let timeout_ms = match watchdog {
            Some(iv) => iv.saturating_sub(last_ping.elapsed()).as_millis() as i32,
            None => -1,
        };
        let mut pfd = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout_ms = match (timeout_ms, o.watchdog_stop_after, watchdog) {
            (t, Some(after), Some(_)) => {
                let left = after.saturating_sub(started.elapsed()).as_millis() as i32;
                t.min(left.max(0))
            }
            (t, _, _) => t,
        };
        // SAFETY: pfd is a live array of two pollfd.
        unsafe { libc::poll(pfd.as_mut_ptr(), 2, timeout_ms) };
        if let Some(iv) = watchdog {
            if last_ping.elapsed() >= iv {
                notify("WATCHDOG=1");
                last_ping = Instant::now();
            }
        }
        while let Some(sig) = next_signal(sfd) {
            match sig {
                libc::SIGHUP => {
                    reloads += 1;
                    notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
                    log(&format!("reloading ({reloads})"));
                    notify(&format!(
                        "READY=1\nSTATUS=reloaded {reloads} times, serving on {what}"
                    ));
                }
                libc::SIGUSR1 => {
                    log("watchdog pings stopped (SIGUSR1)");
                    watchdog = None;
                }
                _ => {
                    notify("STOPPING=1");
                    log(&format!("got signal {sig}, exiting with {}", o.term_exit));
                    return o.term_exit;
                }
            }
        }
        while let Ok((s, _)) = listener.accept() {
            let _ = s.set_nonblocking(false);
            if let Some(code) = handle(s, &o) {
                notify("STOPPING=1");
                return code;
            }
        }
    }
}

fn get(args: &[String]) -> i32 {
    let [addr, path] = args else {
        die("usage: get ADDR:PORT PATH")
    };
    let mut s = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => die(&format!("connect {addr}: {e}")),
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes());
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    print!("{body}");
    if head.starts_with("HTTP/1.0 200") {
        0
    } else {
        1
    }
}

fn hog() -> i32 {
    log("allocating memory until killed");
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really charged to the cgroup.
        chunks.push(vec![0x5a; 1 << 20]);
        if chunks.len().is_multiple_of(16) {
            log(&format!("{} MiB", chunks.len()));
        }
    }
}

/// Signals taken synchronously (blocked, then sigwaitinfo): each delivery is one line, and
/// a real-time signal is never merged with a second one pending.
fn count_signals() -> i32 {
    let sigs = [
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGTERM,
        libc::SIGRTMIN() + 1,
    ];
    // SAFETY: a local sigset, initialized before use.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut n = 0;
    loop {
        // SAFETY: siginfo_t is plain data; set is initialized.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
        if sig < 0 {
            continue;
        }
        n += 1;
        // SAFETY: si_pid is valid for the user-sent codes this reports.
        let from = unsafe { info.si_pid() };
        log(&format!(
            "signal {sig} #{n} from pid {from} code {}",
            info.si_code
        ));
        if sig == libc::SIGTERM {
            return 0;
        }
    }
}

/// `NotifyAccess=` test: the message comes from a child, never from the main process.
fn notify_from_child(msg: &str) -> i32 {
    // SAFETY: fork in a single-threaded program; the child only notifies and exits.
    match unsafe { libc::fork() } {
        0 => {
            notify(msg);
            // Alive while systemd handles it: systemd (252) finds a sender's unit by its
            // cgroup, and a message from a process already gone is dropped.
            std::thread::sleep(Duration::from_secs(2));
            // SAFETY: leaving the child without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        pid if pid < 0 => die("fork failed"),
        pid => {
            let mut st = 0;
            // SAFETY: waiting for our own child; st is a valid out pointer.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            // A mark the tests wait for: everything the child sent came before it.
            notify("STATUS=main process here");
            loop {
                // Until SIGTERM (default action) or the unit's timeout.
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("probe") => {
            println!("{}", facts());
            0
        }
        Some("get") => get(&args[1..]),
        Some("hog") => hog(),
        Some("count-signals") => count_signals(),
        Some("notify-status") => {
            let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
            for i in 1..=n {
                notify(&format!("STATUS={i}"));
            }
            notify("READY=1");
            while args.get(2).map(String::as_str) == Some("wait") {
                std::thread::sleep(Duration::from_secs(3600));
            }
            0
        }
        Some("notify-from-child") => {
            notify_from_child(args.get(1).map_or("READY=1", String::as_str))
        }
        Some("notify-fds") => notify_cmds::fds(),
        Some("notify-flood") => {
            notify_cmds::flood(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8))
        }
        _ => {
            eprintln!("usage: stockade-testd serve|probe|get|hog (see the source's header)");
            2
        }
    };
    std::process::exit(code);
}
