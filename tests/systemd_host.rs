//! systemd protocols through the real binary, on the host (the VM suite in tests/vm/ runs
//! them under a real systemd): the sd_notify relay from a fully namespaced, landlocked,
//! seccomp-filtered payload, and socket activation into a sandbox with its own network
//! namespace. The payload is `stockade-testd`, bind-mounted read-only at /opt/testd.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn testd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stockade-testd"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// A profile extending `profiles/BASE` that runs stockade-testd with `args`.
fn testd_profile(dir: &TempDir, base: &str, args: &str) -> PathBuf {
    let repo = env!("CARGO_MANIFEST_DIR");
    dir.profile(
        "p.toml",
        &format!(
            r#"extends = ["{repo}/profiles/{base}"]
[process]
command = ["/opt/testd/stockade-testd", {args}]
[[mount]]
type = "bind"
source = "{testd}"
target = "/opt/testd"
read-only = true
[landlock]
exec = ["/opt/testd"]
"#,
            testd = testd_dir().display()
        ),
    )
}

fn need_root() -> bool {
    !is_root() && skip("the systemd host tests run sandboxes as root")
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill with integer arguments.
    unsafe { libc::kill(pid as i32, sig) };
}

/// The next notification on `sock` containing `want` (earlier ones are returned too).
fn wait_for(sock: &UnixDatagram, want: &str, seen: &mut Vec<String>) -> String {
    let mut buf = [0u8; 4096];
    loop {
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no {want:?} from the relay ({e}); got {seen:?}"));
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        seen.push(m.clone());
        if m.contains(want) {
            return m;
        }
    }
}

#[test]
fn notify_relay_from_an_isolated_payload() {
    if need_root() {
        return;
    }
    let dir = TempDir::new("notify");
    let p = testd_profile(
        &dir,
        "notify-daemon.toml",
        r#""serve", "--listen", "127.0.0.1:8081""#,
    );
    let sock_path = dir.join("systemd-notify");
    let systemd = UnixDatagram::bind(&sock_path).expect("bind the fake NOTIFY_SOCKET");
    systemd
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let child = TestCommand::new(["run".as_ref(), p.as_os_str()])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .env("WATCHDOG_PID", "1")
        .spawn();
    let pid = child.id();
    let mut seen = Vec::new();
    let ready = wait_for(&systemd, "READY=1", &mut seen);
    assert!(
        ready.contains("STATUS=serving on 127.0.0.1:8081"),
        "{ready:?}"
    );
    // The payload pings only when WATCHDOG_PID names it: the rewrite worked.
    wait_for(&systemd, "WATCHDOG=1", &mut seen);
    // The relay's host directory is gone once the payload runs.
    let leftovers: Vec<String> = std::fs::read_dir("/run/stockade")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("notify.{pid}.")))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    kill(pid, libc::SIGHUP);
    wait_for(&systemd, "RELOADING=1", &mut seen);
    let again = wait_for(&systemd, "READY=1", &mut seen);
    assert!(again.contains("reloaded 1 times"), "{again:?}");
    kill(pid, libc::SIGTERM);
    wait_for(&systemd, "STOPPING=1", &mut seen);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !seen.iter().any(|m| m.contains("MAINPID=")),
        "no MAINPID was sent: {seen:?}"
    );
}

/// `sh -c 'LISTEN_PID=$$ exec stockade run P'` with `fd` at fd 3: LISTEN_PID names
/// stockade, as systemd sets it.
fn activated(p: &Path, fd: i32, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "LISTEN_PID=${PID_OVERRIDE:-$$} exec \"$@\"", "sh"])
        .arg(stockade_bin())
        .arg("run")
        .arg(p)
        .env("LISTEN_FDS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: dup2 in the pre-exec child only.
    unsafe {
        cmd.pre_exec(move || common::place_fds(&[(fd, 3)]));
    }
    cmd
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut r = String::new();
    let _ = s.read_to_string(&mut r);
    r.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(r)
}

#[test]
fn socket_activation_serves_from_an_empty_network_namespace() {
    if need_root() {
        return;
    }
    let dir = TempDir::new("activation");
    std::fs::create_dir(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "hello through fd 3\n").unwrap();
    let p = testd_profile(
        &dir,
        "web-static-socket.toml",
        r#""serve", "--dir", "/srv/www""#,
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let www = dir.join("www");
    let child = activated(
        &p,
        listener.as_raw_fd(),
        &[("STOCKADE_WWW", www.to_str().unwrap())],
    )
    .spawn()
    .expect("spawn");
    assert_eq!(http_get(port, "/index.html"), "hello through fd 3\n");
    let facts: serde_json::Value =
        serde_json::from_str(http_get(port, "/facts").trim()).expect("facts JSON from the payload");
    assert_eq!(facts["interfaces"], serde_json::json!(["lo"]), "{facts}");
    assert_eq!(facts["listen_fds"], "1");
    assert_eq!(
        facts["listen_pid"], "2",
        "PID 2 under stockade's init: {facts}"
    );
    assert_eq!(facts["seccomp"], "2");
    let own_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(
        facts["ns"]["net"],
        own_net.to_string_lossy().as_ref(),
        "{facts}"
    );
    kill(child.id(), libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sockets_meant_for_another_process_are_refused() {
    if need_root() {
        return;
    }
    let dir = TempDir::new("wrongpid");
    let p = testd_profile(&dir, "notify-daemon.toml", r#""probe""#);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let out = activated(&p, listener.as_raw_fd(), &[("PID_OVERRIDE", "1")])
        .output()
        .expect("spawn");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("LISTEN_PID is \"1\""), "{err}");
    assert!(
        out.stdout.is_empty(),
        "the payload must not have run: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}
