//! Without a PID namespace nothing the payload starts outlives stockade: not when the payload
//! exits, not after a wall-time kill, not when stockade itself is SIGKILLed. The payload
//! hides its children the usual ways (a new session with setsid, a double fork that
//! orphans them); init, as the sandbox's keeper, is their subreaper and kills them.
//! Signals sent straight to the keeper from outside are not forwarded (as for PID 1).

mod common;

use common::*;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A sandbox with user and mount namespaces but the host's PID namespace.
fn no_pid_ns(dir: &TempDir, extra: &str) -> PathBuf {
    dir.profile(
        "nopid.toml",
        &format!(
            "[process]\ncwd = \"/\"\n{extra}\n[namespaces]\nuser = true\nmount = true\npid = false\n{}\n[[mount]]\ntype = \"bind\"\nsource = \"/proc\"\nread-only = true\n[[mount]]\ntype = \"dev\"\n",
            runtime_mounts()
        ),
    )
}

/// A `sleep` argument no other process on the host uses.
fn marker(tag: u32) -> String {
    format!("{}.{tag}", 100_000 + std::process::id())
}

/// Host pids of the processes whose argv is exactly `sleep MARKER`.
fn sleepers(marker: &str) -> Vec<i32> {
    let want = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.ends_with(want.as_bytes()) && c.len() >= want.len())
                && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| !s.contains(") Z "))
        })
        .collect()
}

/// Kill leftovers of a failed run so they do not outlive the test either.
fn cleanup(marker: &str) {
    for pid in sleepers(marker) {
        // SAFETY: kill with integer arguments.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The payload's script: two hidden sleepers, a wait (bounded) until both run, a line
/// `started N` with how many do, then `rest`. The sleepers do not hold stockade's stdout,
/// so a test does not wait for them when they are (wrongly) left behind.
fn hide_two(m: &str, rest: &str) -> String {
    format!(
        "setsid sleep {m} >/dev/null 2>&1 & sh -c 'sleep {m} >/dev/null 2>&1 &'; i=0; \
         while [ \"$(pgrep -c -x -f 'sleep {m}')\" != 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
         echo started $(pgrep -c -x -f 'sleep {m}'); {rest}"
    )
}

fn wait_gone(m: &str, within: Duration) -> Vec<i32> {
    let end = Instant::now() + within;
    loop {
        let left = sleepers(m);
        if left.is_empty() || Instant::now() > end {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn nothing_outlives_a_payload_that_exits() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("keeper-exit");
    let p = no_pid_ns(&dir, "");
    let m = marker(1);
    let out = TestCommand::run(&p, &["/bin/sh", "-c", &hide_two(&m, "exit 3")]).output();
    let left = sleepers(&m);
    cleanup(&m);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "started 2");
    // Killed and reaped before stockade exits: no waiting needed.
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn nothing_outlives_a_sigkilled_stockade() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("keeper-kill");
    let p = no_pid_ns(&dir, "");
    let m = marker(2);
    let mut child = TestCommand::run(&p, &["/bin/sh", "-c", &hide_two(&m, "sleep 1000")])
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line).expect("started");
    let before = sleepers(&m);
    child.kill().expect("SIGKILL stockade");
    let _ = child.wait();
    let left = wait_gone(&m, Duration::from_secs(10));
    cleanup(&m);
    assert_eq!(line.trim(), "started 2");
    assert_eq!(
        before.len(),
        2,
        "the payload's sleepers, seen from the host"
    );
    assert!(left.is_empty(), "outlived stockade: {left:?}");
}

#[test]
fn nothing_outlives_a_wall_time_kill() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("keeper-timeout");
    let p = no_pid_ns(&dir, "timeout = \"300ms\"\ngrace = \"300ms\"");
    let m = marker(3);
    // The payload ignores the timeout's SIGTERM, so the grace period ends in the hard kill.
    let script = hide_two(&m, "trap '' TERM; while :; do sleep 1; done");
    let out = TestCommand::run(&p, &["/bin/sh", "-c", &script]).output();
    let left = sleepers(&m);
    cleanup(&m);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "started 2");
    assert!(left.is_empty(), "outlived the timeout: {left:?}");
}

#[test]
fn the_keeper_forwards_stockades_signals_once_and_ignores_outsiders() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("keeper-fwd");
    let p = no_pid_ns(&dir, "");
    let mut child = Command::new(stockade_bin())
        .args(["run".as_ref(), p.as_os_str(), "--".as_ref()])
        .args(["/probe/stockade-testd", "count-signals"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    assert_eq!(line.trim(), "ready");
    let stockade = child.id() as i32;
    let keeper = std::fs::read_to_string(format!("/proc/{stockade}/task/{stockade}/children"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<i32>().ok())
        .expect("stockade's child");
    let rt = libc::SIGRTMIN() + 1;
    // SAFETY: kill with integer arguments.
    unsafe {
        libc::kill(stockade, rt);
        // Straight to the keeper's pid from outside: not forwarded (nor fatal to it).
        libc::kill(keeper, rt);
        libc::kill(keeper, libc::SIGTERM);
        libc::kill(stockade, rt);
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: as above.
    unsafe { libc::kill(stockade, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{rest}");
    // Both of stockade's, neither of the keeper's (its SIGTERM would have ended the payload
    // before stockade's second signal).
    assert_eq!(rest.matches(&format!("signal {rt} ")).count(), 2, "{rest}");
}
