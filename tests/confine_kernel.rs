//! Confinement against the real kernel, without the executor: a forked child applies the
//! lockdown functions exactly as the executor's child does, then runs the probe's
//! confinement subcommands in-process and sends their JSON back through a pipe.
//! (tests/confine_sandbox.rs drives the same probes through `stockade run`.)

/// The probe's subcommand table type (the module refers to it as `super::Command`).
pub type Command = (&'static str, &'static str, fn(&[String]) -> i32);

#[path = "../src/bin/stockade-probe/confine.rs"]
#[allow(dead_code)]
mod probe;

use serde_json::Value;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use stockade::exec::confine::{
    compile_seccomp, kernel_landlock_abi, prepare_landlock, set_no_new_privs, PreparedLandlock,
};
use stockade::plan::{Compat, LandlockPathPlan, LandlockPlan, SeccompAction, SeccompPlan};

/// How a probe run ended: its JSON (if it printed any) and its wait status.
#[derive(Debug)]
struct Outcome {
    json: Option<Value>,
    signal: Option<i32>,
}

/// Copy an executable with cp(1): a write fd held by this (forking) test process could leak
/// into a concurrently forked child and make the later execve fail with ETXTBSY.
fn copy_exe(from: impl AsRef<Path>, to: impl AsRef<Path>) {
    let ok = std::process::Command::new("cp")
        .arg(from.as_ref())
        .arg(to.as_ref())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cp {} {}",
        from.as_ref().display(),
        to.as_ref().display()
    );
}

/// Fork; the child runs `setup` then the probe subcommand and writes its JSON to a pipe.
fn confined(setup: impl FnOnce() -> Result<(), String>, cmd: &str, args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: glibc's fork leaves malloc usable; the child _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        drop(r);
        let text = match setup() {
            Ok(()) => match probe::run(cmd, &args).or_else(|| local(cmd, &args)) {
                Some(Ok(v)) => v.to_string(),
                Some(Err(e)) => format!("{{\"usage\":{e:?}}}"),
                None => "{\"unknown\":true}".into(),
            },
            Err(e) => format!("{{\"setup\":{e:?}}}"),
        };
        let _ = nix::unistd::write(&w, text.as_bytes());
        // SAFETY: end the forked child without the harness's atexit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(w);
    let mut text = String::new();
    // SAFETY: `r` is our read end; File takes ownership.
    let mut file = unsafe { std::fs::File::from_raw_fd(r.as_raw_fd()) };
    std::mem::forget(r);
    let _ = file.read_to_string(&mut text);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Outcome {
        json: serde_json::from_str(&text).ok(),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
    }
}

/// What the probe's `tries` and `facts` modules do, for the subcommands these tests need
/// (only the confinement module is compiled into this test).
fn local(cmd: &str, args: &[String]) -> Option<Result<Value, String>> {
    let ok_or_errno = |rc: i64| {
        if rc >= 0 {
            serde_json::json!({ "ok": true })
        } else {
            let e = nix::Error::last();
            serde_json::json!({ "ok": false, "errno": format!("{e:?}") })
        }
    };
    let path =
        || std::ffi::CString::new(args.first().cloned().unwrap_or_default()).unwrap_or_default();
    // SAFETY (all below): plain syscalls on NUL-terminated paths, in a forked child.
    Some(Ok(match cmd {
        "try-read" | "try-write" => {
            let flags = if cmd == "try-read" {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY | libc::O_CREAT
            };
            let fd = unsafe { libc::open(path().as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
            ok_or_errno(i64::from(fd))
        }
        "try-exec" => {
            let p = path();
            let argv = [p.as_ptr(), std::ptr::null()];
            let envp = [std::ptr::null::<libc::c_char>()];
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                unsafe {
                    libc::execve(p.as_ptr(), argv.as_ptr(), envp.as_ptr());
                    libc::_exit(200 + *libc::__errno_location());
                }
            }
            let mut status = 0;
            unsafe { libc::waitpid(pid, &mut status, 0) };
            let code = libc::WEXITSTATUS(status);
            if code >= 200 {
                let e = nix::Error::from_raw(code - 200);
                serde_json::json!({ "ok": false, "errno": format!("{e:?}") })
            } else {
                serde_json::json!({ "ok": true })
            }
        }
        "tiocsti" => {
            let byte = b'#' as libc::c_char;
            let stdin = ok_or_errno(i64::from(unsafe { libc::ioctl(0, libc::TIOCSTI, &byte) }));
            let tty = unsafe { libc::open(c"/dev/tty".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
            let dev_tty = ok_or_errno(i64::from(unsafe { libc::ioctl(tty, libc::TIOCSTI, &byte) }));
            let isatty = unsafe { libc::isatty(0) } == 1;
            serde_json::json!({ "stdin_isatty": isatty, "stdin": stdin, "dev_tty": dev_tty })
        }
        "rlimits" => {
            let mut v = serde_json::json!({});
            for (name, res) in [
                ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
                ("RLIMIT_CORE", libc::RLIMIT_CORE),
                ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
            ] {
                let mut r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                unsafe { libc::getrlimit(res, &mut r) };
                let show = |x: u64| {
                    if x == libc::RLIM_INFINITY {
                        Value::Null
                    } else {
                        serde_json::json!(x)
                    }
                };
                v[name] = serde_json::json!([show(r.rlim_cur), show(r.rlim_max)]);
            }
            v
        }
        _ => return None,
    }))
}

fn json(o: &Outcome) -> &Value {
    o.json
        .as_ref()
        .unwrap_or_else(|| panic!("no JSON from the probe: {o:?}"))
}

fn errno(o: &Outcome) -> String {
    json(o)["errno"].as_str().unwrap_or("none").to_string()
}

fn ok(o: &Outcome) -> bool {
    json(o)["ok"] == Value::Bool(true)
}

fn with_landlock(prepared: &PreparedLandlock) -> impl FnOnce() -> Result<(), String> + '_ {
    move || {
        set_no_new_privs().map_err(|e| e.to_string())?;
        prepared.apply().map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Print `SKIP: reason`, or fail when STOCKADE_TEST_REQUIRE=1 (CI) forbids skipping.
fn skip(reason: &str) {
    assert!(
        std::env::var_os("STOCKADE_TEST_REQUIRE").is_none_or(|v| v != "1"),
        "required test cannot run: {reason}"
    );
    eprintln!("SKIP: {reason}");
}

fn need_landlock(abi: u8) -> Option<u8> {
    let kernel = kernel_landlock_abi();
    if kernel < abi {
        skip(&format!("kernel Landlock ABI {kernel} < {abi}"));
        return None;
    }
    Some(kernel)
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rule(path: &Path, access: &[&str]) -> LandlockPathPlan {
    LandlockPathPlan {
        path: path.to_path_buf(),
        access: access.iter().map(|s| s.to_string()).collect(),
        optional: false,
    }
}

fn base_plan(abi: u8) -> LandlockPlan {
    LandlockPlan {
        compat: Compat::Required,
        abi,
        handled_fs: vec![
            "write".into(),
            "exec".into(),
            "make-char".into(),
            "make-block".into(),
        ],
        paths: vec![],
        bind_tcp: None,
        connect_tcp: None,
        scopes: vec![],
        required: vec![],
    }
}

#[test]
fn landlock_filesystem_inside_granted_outside_denied() {
    let Some(kernel) = need_landlock(3) else {
        return;
    };
    let granted = scratch("ll-granted");
    let outside = scratch("ll-outside");
    for d in [&granted, &outside] {
        std::fs::write(d.join("file"), "data").unwrap();
        copy_exe("/usr/bin/true", d.join("true"));
    }
    let mut plan = base_plan(3);
    plan.paths = vec![
        rule(Path::new("/usr"), &["exec"]),
        rule(&granted, &["write", "exec"]),
    ];
    // Landlock paths are opened without following symlinks (`/lib -> usr/lib` on
    // merged-/usr hosts): name what they point to.
    for lib in ["/lib", "/lib64"] {
        if let Ok(real) = std::fs::canonicalize(lib) {
            plan.paths.push(rule(&real, &["exec"]));
        }
    }
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    for (cmd, dir, want_ok) in [
        ("try-read", &granted, true),
        ("try-write", &granted, true),
        ("try-exec", &granted, true),
        ("try-read", &outside, false),
        ("try-write", &outside, false),
        ("try-exec", &outside, false),
    ] {
        let target = if cmd == "try-exec" {
            dir.join("true")
        } else {
            dir.join("file")
        };
        let o = confined(with_landlock(&prepared), cmd, &[&s(&target)]);
        if want_ok {
            assert!(ok(&o), "{cmd} {target:?}: {o:?}");
        } else {
            assert_eq!(errno(&o), "EACCES", "{cmd} {target:?}: {o:?}");
        }
    }
    // Without Landlock the outside paths are reachable: the denial above is Landlock's.
    assert!(ok(&confined(
        || Ok(()),
        "try-read",
        &[&s(&outside.join("file"))]
    )));
    let _ = std::fs::remove_dir_all(&granted);
    let _ = std::fs::remove_dir_all(&outside);
}

fn listener() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn landlock_tcp_connect_and_bind_are_limited_to_granted_ports() {
    let Some(kernel) = need_landlock(4) else {
        return;
    };
    let (_a, granted) = listener();
    let (_b, other) = listener();
    let mut plan = base_plan(4);
    plan.connect_tcp = Some(vec![granted]);
    plan.bind_tcp = Some(vec![]);
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    let o = confined(
        with_landlock(&prepared),
        "try-connect",
        &[&granted.to_string()],
    );
    assert!(ok(&o), "{o:?}");
    let o = confined(
        with_landlock(&prepared),
        "try-connect",
        &[&other.to_string()],
    );
    assert_eq!(errno(&o), "EACCES", "{o:?}");
    let o = confined(with_landlock(&prepared), "try-bind", &["0"]);
    assert_eq!(errno(&o), "EACCES", "bind is restricted to no port: {o:?}");
    // Control: unconfined, both connects work.
    assert!(ok(&confined(
        || Ok(()),
        "try-connect",
        &[&other.to_string()]
    )));
}

#[test]
fn landlock_scopes_deny_abstract_sockets_and_signals_outside() {
    let Some(kernel) = need_landlock(6) else {
        return;
    };
    let name = format!("stockade-test-{}", std::process::id());
    let sock = std::os::unix::net::UnixListener::bind_addr(
        &std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap(),
    )
    .unwrap();
    let mut outsider = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = outsider.id().to_string();
    let mut plan = base_plan(6);
    plan.scopes = vec!["abstract-unix-socket".into(), "signal".into()];
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    let o = confined(with_landlock(&prepared), "abstract-connect", &[&name]);
    assert_eq!(errno(&o), "EPERM", "{o:?}");
    let o = confined(with_landlock(&prepared), "try-kill", &[&pid]);
    assert_eq!(errno(&o), "EPERM", "{o:?}");
    // Control: without the scopes both succeed.
    let unscoped = prepare_landlock(&base_plan(6), kernel).unwrap();
    assert!(ok(&confined(
        with_landlock(&unscoped),
        "abstract-connect",
        &[&name]
    )));
    assert!(ok(&confined(with_landlock(&unscoped), "try-kill", &[&pid])));
    let _ = outsider.kill();
    let _ = outsider.wait();
    drop(sock);
}

#[test]
fn landlock_best_effort_with_a_newer_pin_runs_and_reports_the_skipped_right() {
    let Some(kernel) = need_landlock(1) else {
        return;
    };
    if kernel >= 9 {
        skip("kernel already has Landlock ABI 9: no right left to simulate a missing one");
        return;
    }
    let dir = scratch("ll-best-effort");
    std::fs::write(dir.join("file"), "x").unwrap();
    let mut plan = base_plan(9);
    plan.compat = Compat::BestEffort;
    plan.handled_fs.push("resolve-unix".into());
    plan.paths = vec![rule(&dir, &["read"])];
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    assert!(
        prepared
            .not_enforced
            .iter()
            .any(|l| l.contains("resolve-unix") && l.contains(&format!("kernel has {kernel}"))),
        "{:?}",
        prepared.not_enforced
    );
    // The same plan in required mode refuses to run.
    plan.compat = Compat::Required;
    let err = prepare_landlock(&plan, kernel).unwrap_err().to_string();
    assert!(
        err.contains("resolve-unix") && err.contains("best-effort"),
        "{err}"
    );
    // Best effort still enforces everything the kernel has.
    let o = confined(with_landlock(&prepared), "try-read", &["/etc/hostname"]);
    assert_eq!(errno(&o), "EACCES", "{o:?}");
    let o = confined(
        with_landlock(&prepared),
        "try-read",
        &[dir.join("file").to_str().unwrap()],
    );
    assert!(ok(&o), "{o:?}");
    // And the kernel reports partial enforcement.
    let status = {
        let (r, w) = nix::unistd::pipe().unwrap();
        // SAFETY: fork; the child applies and writes one byte.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let b = match set_no_new_privs().ok().and_then(|_| prepared.apply().ok()) {
                Some(s) => s.ruleset,
                None => 9,
            };
            let _ = nix::unistd::write(&w, &[b]);
            // SAFETY: leave the forked child.
            unsafe { libc::_exit(0) };
        }
        drop(w);
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&r, &mut b);
        // SAFETY: reap our child.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        b[0]
    };
    assert_eq!(status, 1, "ruleset must be partially enforced");
    let _ = std::fs::remove_dir_all(&dir);
}

fn seccomp_setup(plan: SeccompPlan) -> impl FnOnce() -> Result<(), String> {
    let prog = compile_seccomp(&plan).unwrap();
    move || {
        set_no_new_privs().map_err(|e| e.to_string())?;
        prog.load().map_err(|e| e.to_string())
    }
}

fn preset_plan(deny: SeccompAction) -> SeccompPlan {
    SeccompPlan {
        default_action: SeccompAction::Allow,
        rules: stockade::seccomp::preset::default_rules(deny),
        extra_architectures: vec![],
        log: false,
    }
}

#[test]
fn seccomp_preset_errno_and_kill_through_the_probe() {
    let eperm = SeccompAction::Errno { errno: libc::EPERM };
    let o = confined(
        seccomp_setup(preset_plan(eperm)),
        "try-syscall",
        &["unshare", "0x10000000"],
    );
    assert_eq!(errno(&o), "EPERM", "{o:?}");
    // unshare without CLONE_NEWUSER is not the preset's business (root: it succeeds).
    let o = confined(
        seccomp_setup(preset_plan(eperm)),
        "try-syscall",
        &["unshare", "0x20000"],
    );
    assert_eq!(json(&o)["ret"], 0, "{o:?}");
    let o = confined(
        seccomp_setup(preset_plan(eperm)),
        "try-syscall",
        &["getpid"],
    );
    assert!(json(&o)["ret"].as_i64().unwrap() > 0, "{o:?}");
    let o = confined(
        seccomp_setup(preset_plan(SeccompAction::KillProcess)),
        "try-syscall",
        &["ptrace", "0"],
    );
    assert_eq!(o.signal, Some(libc::SIGSYS), "{o:?}");
    for abi in ["x32-syscall", "i386-syscall"] {
        let o = confined(seccomp_setup(preset_plan(eperm)), abi, &[]);
        assert_eq!(o.signal, Some(libc::SIGSYS), "{abi}: {o:?}");
    }
}

/// Open a pty pair; returns (master, slave path).
fn openpty() -> (OwnedFd, std::ffi::CString) {
    // SAFETY: posix_openpt/grantpt/unlockpt/ptsname on the fd we own.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(m)).to_owned();
        (OwnedFd::from_raw_fd(m), name)
    }
}

/// Make the pty slave the child's controlling terminal and stdin.
fn on_terminal(slave: &std::ffi::CStr) -> Result<(), String> {
    // SAFETY: setsid/open/ioctl/dup2 in the forked child.
    unsafe {
        libc::setsid();
        let fd = libc::open(slave.as_ptr(), libc::O_RDWR);
        if fd < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) != 0 || libc::dup2(fd, 0) < 0 {
            return Err("cannot attach the pty".into());
        }
    }
    Ok(())
}

#[test]
fn tiocsti_on_a_terminal_fails_under_the_preset() {
    let (_master, slave) = openpty();
    let eperm = SeccompAction::Errno { errno: libc::EPERM };
    let filtered = seccomp_setup(preset_plan(eperm));
    let o = confined(
        || on_terminal(&slave).and_then(|_| filtered()),
        "tiocsti",
        &[],
    );
    let v = json(&o);
    assert_eq!(v["stdin_isatty"], true, "{o:?}");
    assert_eq!(v["stdin"]["errno"], "EPERM", "{o:?}");
    assert_eq!(v["dev_tty"]["errno"], "EPERM", "{o:?}");
    // Control: on this terminal, unfiltered root can inject (unless the kernel forbids it).
    let o = confined(|| on_terminal(&slave), "tiocsti", &[]);
    assert_ne!(json(&o)["stdin"]["errno"], "EPERM", "{o:?}");
}

#[test]
fn rlimits_probe_reports_what_was_applied() {
    let limits = vec![
        stockade::plan::RlimitPlan {
            name: "RLIMIT_NOFILE".into(),
            resource: libc::RLIMIT_NOFILE,
            soft: 100,
            hard: 200,
        },
        stockade::plan::RlimitPlan {
            name: "RLIMIT_CORE".into(),
            resource: libc::RLIMIT_CORE,
            soft: 0,
            hard: 0,
        },
        stockade::plan::RlimitPlan {
            name: "RLIMIT_FSIZE".into(),
            resource: libc::RLIMIT_FSIZE,
            soft: 1 << 20,
            hard: stockade::plan::RLIM_UNLIMITED,
        },
    ];
    let setup = || {
        stockade::exec::confine::apply_rlimits(&limits, false)
            .and_then(|_| stockade::exec::confine::apply_rlimits(&limits, true))
            .map_err(|e| e.to_string())
    };
    let o = confined(setup, "rlimits", &[]);
    let v = json(&o);
    assert_eq!(v["RLIMIT_NOFILE"], serde_json::json!([100, 200]), "{o:?}");
    assert_eq!(v["RLIMIT_CORE"], serde_json::json!([0, 0]));
    assert_eq!(v["RLIMIT_FSIZE"], serde_json::json!([1 << 20, null]));
}

/// Run `prog -u` as uid/gid 65534 in a forked child, with or without no_new_privs; returns
/// what it printed.
fn euid_of_setuid_program(prog: &Path, no_new_privs: bool) -> String {
    let path = std::ffi::CString::new(prog.to_str().unwrap()).unwrap();
    let argv0 = path.clone();
    let flag = c"-u";
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child makes syscalls, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: raw credential syscalls and execve in the forked child.
        unsafe {
            let ok = libc::setgroups(0, std::ptr::null()) == 0
                && libc::setresgid(65534, 65534, 65534) == 0
                && libc::setresuid(65534, 65534, 65534) == 0
                && (!no_new_privs || set_no_new_privs().is_ok())
                && libc::dup2(w.as_raw_fd(), 1) == 1;
            if ok {
                let argv = [argv0.as_ptr(), flag.as_ptr(), std::ptr::null()];
                let envp = [std::ptr::null::<libc::c_char>()];
                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            }
            libc::_exit(127);
        }
    }
    drop(w);
    let mut out = String::new();
    // SAFETY: take ownership of the read end.
    let mut file = unsafe { std::fs::File::from_raw_fd(r.as_raw_fd()) };
    std::mem::forget(r);
    let _ = file.read_to_string(&mut out);
    // SAFETY: reap our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    out.trim().to_string()
}

#[test]
fn setuid_root_binary_stays_unprivileged_under_no_new_privs() {
    if !nix::unistd::geteuid().is_root() {
        skip("needs root to create a setuid-root binary");
        return;
    }
    let dir = scratch("setuid");
    // 65534 must be able to reach the binary.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut d = dir.clone();
    while let Some(parent) = d.parent().map(Path::to_path_buf) {
        d = parent;
        let mode = std::fs::metadata(&d)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
            .unwrap_or(0);
        if mode & 0o001 == 0 {
            skip(&format!("{} is not searchable by others", d.display()));
            return;
        }
    }
    let id = dir.join("id");
    copy_exe("/usr/bin/id", &id);
    std::fs::set_permissions(&id, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    // Control: without no_new_privs the setuid bit works (so the check below can fail).
    assert_eq!(euid_of_setuid_program(&id, false), "0");
    assert_eq!(euid_of_setuid_program(&id, true), "65534");
    let _ = std::fs::remove_dir_all(&dir);
}
