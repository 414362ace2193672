//! Real sandboxes: exit status, errors, signal forwarding, timeout, supervisor death,
//! zombie reaping, TIOCSTI, the run report.

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A small sandbox: user, mount and pid namespaces (or as `ns` says), the runtime, /proc.
fn profile(dir: &TempDir, name: &str, process: &str, namespaces: &str) -> PathBuf {
    // A new proc needs a PID namespace of its own (the kernel refuses to show the host's
    // from a user namespace).
    let proc = if namespaces.contains("pid = true") {
        "[[mount]]\ntype = \"proc\"\n"
    } else {
        ""
    };
    dir.profile(
        name,
        &format!(
            "[process]\ncwd = \"/\"\n{process}\n[namespaces]\n{namespaces}\n{}\n{proc}",
            runtime_mounts()
        ),
    )
}

const ALL_NS: &str = "user = true\nmount = true\npid = true";

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn exit_codes_are_propagated() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("exit");
    let user = if is_root() { test_user() } else { None };
    for (pid1, ns) in [
        ("init", ALL_NS),
        ("payload", ALL_NS),
        ("init", "user = true\nmount = true"),
    ] {
        let p = profile(&dir, "exit.toml", &format!("pid1 = \"{pid1}\""), ns);
        for n in ["0", "1", "42", "255"] {
            let out = TestCommand::run(&p, &[PROBE, "exit", n]).output();
            assert_eq!(
                code(&out),
                n.parse().ok(),
                "exit {n} ({pid1}, {ns}): {}",
                stderr(&out)
            );
            if let Some((u, g)) = user {
                let out = TestCommand::run(&p, &[PROBE, "exit", n])
                    .with_user(u, g)
                    .output();
                assert_eq!(
                    code(&out),
                    n.parse().ok(),
                    "rootless exit {n}: {}",
                    stderr(&out)
                );
            }
        }
    }
    // Killed by signal N: stockade dies of N too (through init, and as a direct child
    // without a PID ns); the report keeps the shell's 128+N.
    for ns in [ALL_NS, "user = true\nmount = true"] {
        let p = profile(&dir, "sig.toml", "", ns);
        for (sig, expect) in [("9", 137), ("15", 143), ("10", 138)] {
            let report = dir.join("sig.json");
            let out = TestCommand::new([
                "run".as_ref(),
                "--report".as_ref(),
                report.as_os_str(),
                p.as_os_str(),
                "--".as_ref(),
                PROBE.as_ref(),
                "kill-self".as_ref(),
                sig.as_ref(),
            ])
            .output();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&out.status),
                sig.parse().ok(),
                "kill-self {sig}: {}",
                stderr(&out)
            );
            let rep: Value =
                serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
            assert_eq!(rep["exit"]["cause"], "signal", "{rep:#}");
            assert_eq!(rep["exit"]["signal"], sig.parse::<i32>().unwrap_or(0));
            assert_eq!(rep["exit"]["exit_code"], expect);
        }
    }
}

#[test]
fn exec_errors_are_126_and_127() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("exec-err");
    let p = profile(
        &dir,
        "e.toml",
        "[env]\nclear = true\nset = { PATH = \"/usr/bin:/probe\" }",
        ALL_NS,
    );
    let out = TestCommand::run(&p, &["no-such-command"]).output();
    assert_eq!(code(&out), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("execve no-such-command): execve(2): ENOENT (command not found)"),
        "{}",
        stderr(&out)
    );
    let out = TestCommand::run(&p, &["/probe/no-such-file"]).output();
    assert_eq!(code(&out), Some(127));
    // Found but not executable: a regular file without x bits (base-files ships it 0644; a
    // build output beside the probe is not there in every target directory).
    let out = TestCommand::run(&p, &["/usr/lib/os-release"]).output();
    assert_eq!(code(&out), Some(126), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("EACCES (not executable)"),
        "{}",
        stderr(&out)
    );
    // PATH lookup happens inside the sandbox, with the payload's PATH.
    let out = TestCommand::run(&p, &["stockade-probe", "exit", "7"]).output();
    assert_eq!(code(&out), Some(7), "{}", stderr(&out));
}

#[test]
fn setup_failure_names_the_step_and_exits_125() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("setup-fail");
    let body = format!(
        "[namespaces]\n{ALL_NS}\n{}\n[[mount]]\ntype = \"bind\"\nsource = \"/nonexistent/stockade\"\ntarget = \"/x\"\n",
        runtime_mounts()
    );
    let p = dir.profile("fail.toml", &body);
    let report = dir.join("fail.json");
    let out = TestCommand::new([
        "run".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
        p.as_os_str(),
        "--".as_ref(),
        PROBE.as_ref(),
    ])
    .output();
    assert_eq!(code(&out), Some(125));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("step "))
        .unwrap_or_else(|| panic!("{err}"));
    // `step 9/19 (bind /nonexistent/stockade -> /x, nosuid, nodev): host path,
    // RESOLVE_NO_SYMLINKS: openat2(2): ENOENT` (host paths are opened without links)
    let (_, rest) = line.split_once("step ").expect("step");
    let (frac, rest) = rest.split_once(' ').expect("fraction");
    let (i, n) = frac.split_once('/').expect("i/n");
    assert!(
        i.parse::<usize>().is_ok() && n.parse::<usize>().is_ok(),
        "{line}"
    );
    assert!(
        rest.starts_with("(bind /nonexistent/stockade -> /x"),
        "{line}"
    );
    assert!(
        rest.ends_with("): host path, RESOLVE_NO_SYMLINKS: openat2(2): ENOENT"),
        "{line}"
    );
    let rep: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(rep["exit"]["cause"], "setup-failure");
    assert_eq!(rep["exit"]["exit_code"], 125);
    assert!(rep["exit"]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("openat2(2): ENOENT"));
}

fn read_json_line(r: &mut impl BufRead) -> Value {
    let mut line = String::new();
    r.read_line(&mut line).expect("read");
    serde_json::from_str(line.trim()).unwrap_or_else(|_| panic!("not JSON: {line:?}"))
}

fn read_json_line_or(r: &mut impl BufRead, child: &mut Child) -> Value {
    let mut line = String::new();
    r.read_line(&mut line).expect("read");
    serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        panic!("not JSON: {line:?}; stderr: {err}")
    })
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill with integer arguments.
    unsafe { libc::kill(pid as i32, sig) };
}

fn forward_signals(p: &Path, user: Option<(u32, u32)>) {
    let cmd = TestCommand::run(p, &[PROBE, "pause"]);
    let mut child = match user {
        Some((u, g)) => cmd.with_user(u, g),
        None => cmd,
    }
    .spawn();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let first = read_json_line_or(&mut out, &mut child);
    assert_eq!(first["ready"], true);
    for sig in [
        libc::SIGUSR1,
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR2,
        libc::SIGWINCH,
        libc::SIGCONT,
        libc::SIGALRM,
        libc::SIGRTMIN() + 3,
    ] {
        kill(child.id(), sig);
        assert_eq!(
            read_json_line(&mut out)["signal"],
            sig,
            "signal {sig} not forwarded"
        );
    }
    kill(child.id(), libc::SIGTERM);
    assert_eq!(read_json_line(&mut out)["signal"], libc::SIGTERM);
    let st = child.wait().expect("wait");
    assert_eq!(st.code(), Some(0));
}

#[test]
fn signals_are_forwarded() {
    if need_sandbox() {
        return;
    }
    for_each_pid_setup("fwd", forward_signals);
}

/// Run `check` with each PID setup (through init; the payload as PID 1; no PID namespace,
/// PR_SET_PDEATHSIG only), as the caller and, when root, as the unprivileged test user.
fn for_each_pid_setup(tag: &str, check: fn(&Path, Option<(u32, u32)>)) {
    let dir = TempDir::new(tag);
    let user = if is_root() { test_user() } else { None };
    for u in [None, user] {
        check(&profile(&dir, "init.toml", "", ALL_NS), u);
        check(&profile(&dir, "pid1.toml", "pid1 = \"payload\"", ALL_NS), u);
        check(
            &profile(&dir, "nopid.toml", "", "user = true\nmount = true"),
            u,
        );
    }
}

#[test]
fn timeout_sends_the_kill_signal_then_sigkill() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("timeout");
    let p = profile(
        &dir,
        "t.toml",
        "timeout = \"300ms\"\ngrace = \"300ms\"",
        ALL_NS,
    );
    let report = dir.join("t.json");
    let run = |args: &[&str]| {
        let mut full: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            "--report".as_ref(),
            report.as_os_str(),
            p.as_os_str(),
            "--".as_ref(),
        ];
        full.extend(args.iter().map(std::ffi::OsStr::new));
        TestCommand::new(full).output()
    };
    // A payload that dies of SIGTERM.
    // A wall-time kill is exit 124 (as timeout(1)), even when the payload dies of it.
    let out = run(&[PROBE, "sleep", "60"]);
    assert_eq!(code(&out), Some(124), "{}", stderr(&out));
    assert!(stderr(&out).contains("timeout"), "{}", stderr(&out));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(rep["exit"]["cause"], "timeout");
    assert_eq!(rep["timeout"]["fired"], true);
    assert_eq!(rep["timeout"]["killed_after_grace"], false);
    // A payload that survives SIGTERM: SIGKILL after the grace period.
    let out = run(&[PROBE, "pause", "99"]);
    assert_eq!(code(&out), Some(124), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("killing the whole sandbox (SIGKILL)"),
        "{}",
        stderr(&out)
    );
    let rep: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(rep["timeout"]["killed_after_grace"], true);
    // A payload that ends in time is not affected (a generous limit: no race with a
    // loaded machine).
    let p = profile(&dir, "t60.toml", "timeout = \"10m\"", ALL_NS);
    let out = TestCommand::new([
        "run".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
        p.as_os_str(),
        "--".as_ref(),
        PROBE.as_ref(),
        "exit".as_ref(),
        "3".as_ref(),
    ])
    .output();
    assert_eq!(code(&out), Some(3));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(rep["exit"]["cause"], "exit");
    assert_eq!(rep["timeout"]["fired"], false);
}

/// Children of `pid`, from /proc/*/stat.
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.split_whitespace().nth(1).map(str::to_owned))
                })
                .flatten()
                .and_then(|pp| pp.parse::<i32>().ok())
                == Some(pid)
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Wait (generously) for a condition that must become true; the bound only keeps a
/// broken build from hanging the suite, it is not a latency assertion.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sandbox_dies_with_supervisor(p: &Path, user: Option<(u32, u32)>) {
    let cmd = TestCommand::run(p, &[PROBE, "sleep", "600"]);
    let mut child: Child = match user {
        Some((u, g)) => cmd.with_user(u, g),
        None => cmd,
    }
    .spawn();
    let sup = child.id() as i32;
    // Wait for the payload (the sandbox's processes below the supervisor).
    let mut sandbox = Vec::new();
    eventually("payload started", || {
        let kids = children_of(sup);
        let grandkids: Vec<i32> = kids.iter().flat_map(|k| children_of(*k)).collect();
        sandbox = kids.into_iter().chain(grandkids).collect();
        // The payload has exec'd (its comm is the probe's, not stockade's).
        sandbox.iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "stockade-probe")
        })
    });
    kill(sup as u32, libc::SIGKILL);
    let _ = child.wait();
    eventually("sandbox killed with its supervisor", || {
        sandbox.iter().all(|p| !alive(*p))
    });
}

#[test]
fn supervisor_sigkill_kills_the_sandbox() {
    if need_sandbox() {
        return;
    }
    for_each_pid_setup("diewith", sandbox_dies_with_supervisor);
}

#[test]
fn init_reaps_zombies() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("zombies");
    let with_init = profile(&dir, "init.toml", "", ALL_NS);
    let f = ok_json(&TestCommand::run(&with_init, &[PROBE, "spawn-zombies", "4"]).output());
    assert_eq!(f["zombies"], 0, "init must reap orphans: {f}");
    // Control: the payload as PID 1 does not reap, so the orphans stay zombies.
    let as_pid1 = profile(&dir, "pid1.toml", "pid1 = \"payload\"", ALL_NS);
    let f = ok_json(&TestCommand::run(&as_pid1, &[PROBE, "spawn-zombies", "4"]).output());
    assert_eq!(f["zombies"], 4, "control: {f}");
}

fn tiocsti_under_pty(p: &Path) -> Value {
    let cmdline = format!(
        "{} run {} -- {PROBE} try-tiocsti 0",
        stockade_bin().display(),
        p.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // The pty echoes a character pushed by TIOCSTI before the JSON: start at `{`.
        .find_map(|l| serde_json::from_str(l[l.find('{')?..].trim()).ok())
        .unwrap_or_else(|| panic!("no JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn new_session_blocks_tiocsti() {
    if need_sandbox() {
        return;
    }
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("script(1) is not installed (package bsdutils)");
        return;
    }
    let dir = TempDir::new("tiocsti");
    // Without a pty of its own (`terminal = false`): only setsid protects the caller's
    // terminal. With one (the default in a terminal) the payload's TIOCSTI lands in its
    // own pty: tests/terminal.rs checks that nothing reaches the caller's shell.
    let p = profile(&dir, "new.toml", "terminal = false", ALL_NS);
    let v = tiocsti_under_pty(&p);
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["errno"], "EPERM", "{v}");
    // Control: without a new session the payload shares the terminal and TIOCSTI works
    // (where the kernel still allows it at all).
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").unwrap_or_default();
    if legacy.trim() == "1" {
        let p = profile(&dir, "same.toml", "new-session = false", ALL_NS);
        let v = tiocsti_under_pty(&p);
        assert_eq!(v["ok"], true, "control: {v}");
    }
}

#[test]
fn report_fd_receives_the_report() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("reportfd");
    let p = profile(&dir, "r.toml", "", ALL_NS);
    let file = std::fs::File::create(dir.join("out.json")).expect("create");
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut cmd = TestCommand::new([
        "run",
        "--report-fd",
        "7",
        p.to_str().unwrap_or(""),
        "--",
        PROBE,
        "exit",
        "5",
    ]);
    // SAFETY: dup2 in the pre-exec child only.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.command()
            .pre_exec(move || common::place_fds(&[(fd, 7)]));
    }
    let out = cmd.output();
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    drop(file);
    let rep: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out.json")).expect("read")).expect("json");
    assert_eq!(rep["version"], 1);
    assert_eq!(rep["exit"]["cause"], "exit");
    assert_eq!(rep["exit"]["code"], 5);
    assert_eq!(
        rep["namespaces"],
        serde_json::json!(["user", "mount", "pid"])
    );
    let enforced = rep["enforced"].to_string();
    for s in [
        "write uid/gid maps",
        "make mounts private",
        "pivot_root",
        "proc /proc",
    ] {
        assert!(enforced.contains(s), "{s} missing from {enforced}");
    }
    assert!(rep["durations"]["total_ms"]
        .as_f64()
        .is_some_and(|t| t > 0.0));
    assert!(rep["durations"]["payload_ms"].as_f64().is_some());
}

/// Socket activation: fds 3.. pass through as LISTEN_FDS says, LISTEN_PID names the payload.
#[test]
fn listen_fds_pass_through() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("listen");
    let p = profile(&dir, "l.toml", "", ALL_NS);
    let (mut a, mut b) = ([0; 2], [0; 2]);
    // SAFETY: valid arrays.
    assert!(unsafe { libc::pipe(a.as_mut_ptr()) == 0 && libc::pipe(b.as_mut_ptr()) == 0 });
    // LISTEN_PID must name stockade itself (as systemd sets it): a shell that execs
    // stockade keeps its pid.
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "LISTEN_PID=$$ exec \"$@\"", "sh"])
        .arg(common::stockade_bin())
        .arg("run")
        .arg(&p)
        .args(["--", PROBE, "facts"])
        .env("LISTEN_FDS", "2")
        .env("LISTEN_FDNAMES", "web:admin")
        .stdin(std::process::Stdio::null());
    // SAFETY: dup2 in the pre-exec child only; a third inherited fd (5) must not pass.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || common::place_fds(&[(a[0], 3), (b[0], 4), (b[1], 5)]));
    }
    let f = ok_json(&cmd.output().expect("spawn sh"));
    // SAFETY: closing our pipe ends.
    unsafe {
        for fd in [a[0], a[1], b[0], b[1]] {
            libc::close(fd);
        }
    }
    let fds: Vec<u64> = f["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .filter_map(|d| d["fd"].as_u64())
        .collect();
    assert_eq!(fds, [0, 1, 2, 3, 4], "{:#}", f["fds"]);
    assert_eq!(f["env"]["LISTEN_FDS"], "2");
    assert_eq!(f["env"]["LISTEN_FDNAMES"], "web:admin");
    assert_eq!(f["env"]["LISTEN_PID"], f["pid"].to_string());
}
