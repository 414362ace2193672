//! stockade is transparent to whatever runs it (a shell, Python, systemd): each case side by
//! side with the plain command, the same result expected. Exit by signal, inherited signal
//! dispositions and mask, the wall-time limit's exit status 124, and a `pid = false`
//! sandbox leaving nothing behind when stockade is SIGKILLed.

mod common;

use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `stockade run PROFILE -- sh -c SCRIPT` as an argv (for wrapping in another program).
fn wrapped(profile: &Path, argv: &[&str]) -> Vec<String> {
    let mut v = vec![
        stockade_bin().display().to_string(),
        "run".into(),
        profile.display().to_string(),
        "--".into(),
    ];
    v.extend(argv.iter().map(|s| (*s).to_owned()));
    v
}

fn run_argv(argv: &[String]) -> Output {
    Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .expect("spawn")
}

/// The two sandboxes every case runs in: with stockade's init (PID namespace) and with the
/// payload as stockade's direct child.
fn profiles(dir: &TempDir) -> [std::path::PathBuf; 2] {
    let base = format!("[process]\ncwd = \"/\"\n{}", runtime_mounts());
    let with_pid = dir.profile(
        "pid.toml",
        &format!("[namespaces]\nuser = true\nmount = true\npid = true\n{base}\n[[mount]]\ntype = \"proc\"\n"),
    );
    // Without a PID namespace no new proc may be mounted: the host's, read-only.
    let without = dir.profile(
        "nopid.toml",
        &format!("[namespaces]\nuser = true\nmount = true\npid = false\n{base}\n[[mount]]\ntype = \"bind\"\nsource = \"/proc\"\nread-only = true\n"),
    );
    [with_pid, without]
}

fn python() -> Option<&'static str> {
    Path::new("/usr/bin/python3")
        .exists()
        .then_some("/usr/bin/python3")
}

#[test]
fn death_by_signal_is_seen_as_without_stockade() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("sv-sig");
    for p in profiles(&dir) {
        for sig in ["TERM", "USR2", "INT", "HUP", "KILL", "SEGV"] {
            let script = format!("kill -{sig} $$");
            let payload = ["/bin/sh", "-c", script.as_str()];
            let plain = run_argv(&payload.map(String::from));
            let out = run_argv(&wrapped(&p, &payload));
            assert!(plain.status.signal().is_some(), "{sig}: plain {plain:?}");
            assert_eq!(
                out.status.signal(),
                plain.status.signal(),
                "{sig} ({}): {}",
                p.display(),
                stderr(&out)
            );
            assert!(
                !out.status.core_dumped(),
                "stockade itself never dumps core"
            );
            // A shell sees $? = 128+N, as for the plain command.
            let shell = |argv: &[String]| {
                let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
                let s = format!("{} 2>/dev/null; echo $?", quoted.join(" "));
                let o = run_argv(&["/bin/sh".into(), "-c".into(), s]);
                String::from_utf8_lossy(&o.stdout).trim().to_owned()
            };
            assert_eq!(
                shell(&wrapped(&p, &payload)),
                shell(&payload.map(String::from)),
                "{sig}: shell"
            );
        }
    }
}

#[test]
fn python_sees_a_negative_returncode() {
    if need_sandbox() {
        return;
    }
    let Some(py) = python() else {
        skip("needs /usr/bin/python3");
        return;
    };
    let dir = TempDir::new("sv-py");
    let [p, _] = profiles(&dir);
    let code = "import subprocess,sys\nprint(subprocess.run(sys.argv[1:]).returncode)";
    let returncode = |argv: &[String]| {
        let mut full = vec![py.to_owned(), "-c".into(), code.into()];
        full.extend(argv.iter().cloned());
        let o = run_argv(&full);
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    for script in ["kill -TERM $$", "kill -USR1 $$", "exit 3"] {
        let payload = ["/bin/sh", "-c", script];
        let plain = returncode(&payload.map(String::from));
        assert_eq!(returncode(&wrapped(&p, &payload)), plain, "{script}");
    }
    assert_eq!(
        returncode(&wrapped(&p, &["/bin/sh", "-c", "kill -TERM $$"])),
        "-15"
    );
}

/// `grep SigIgn|SigBlk /proc/self/status` of a payload, run by `sh -c PREFIX exec ...`.
fn signal_state(prefix: &str, argv: &[String]) -> String {
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
    let s = format!("{prefix} exec {}", quoted.join(" "));
    let o = run_argv(&["/bin/sh".into(), "-c".into(), s]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn inherited_dispositions_reach_the_payload() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("sv-ign");
    let grep = ["/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"];
    for p in profiles(&dir) {
        // Default dispositions (stockade's own ignored SIGPIPE does not leak), SIGPIPE
        // ignored as under systemd's IgnoreSIGPIPE=yes, SIGINT and SIGQUIT ignored as in a
        // background job, SIGHUP ignored as under nohup.
        for prefix in [
            "",
            "trap '' PIPE;",
            "trap '' INT QUIT;",
            "trap '' HUP PIPE USR2;",
        ] {
            let plain = signal_state(prefix, &grep.map(String::from));
            let boxed = signal_state(prefix, &wrapped(&p, &grep));
            assert_eq!(boxed, plain, "{prefix:?} in {}", p.display());
        }
    }
}

#[test]
fn inherited_mask_reaches_the_payload() {
    if need_sandbox() {
        return;
    }
    let Some(py) = python() else {
        skip("needs /usr/bin/python3");
        return;
    };
    let dir = TempDir::new("sv-mask");
    let grep = ["/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"];
    let code = "import os,signal,sys\n\
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGTERM])\n\
                os.execv(sys.argv[1], sys.argv[1:])";
    for p in profiles(&dir) {
        let masked = |argv: &[String]| {
            let mut full = vec![py.to_owned(), "-c".into(), code.into()];
            full.extend(argv.iter().cloned());
            let o = run_argv(&full);
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let plain = masked(&grep.map(String::from));
        assert!(plain.contains("SigBlk:\t0000000000004200"), "{plain}");
        assert_eq!(masked(&wrapped(&p, &grep)), plain, "{}", p.display());
    }
}

#[test]
fn wall_time_kill_exits_124_like_timeout() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("sv-timeout");
    let p = dir.profile(
        "t.toml",
        "extends = [\"builtin:strict\"]\n[process]\ntimeout = \"500ms\"\ngrace = \"2s\"\n",
    );
    // A payload that exits 0 on SIGTERM, and one that dies of it: both are timeouts.
    for script in ["trap 'exit 0' TERM; sleep 30 & wait", "exec sleep 30"] {
        let plain = run_argv(&[
            "timeout".into(),
            "0.5".into(),
            "/bin/sh".into(),
            "-c".into(),
            script.into(),
        ]);
        let out = run_argv(&wrapped(&p, &["/bin/sh", "-c", script]));
        assert_eq!(plain.status.code(), Some(124), "{script}: timeout(1)");
        assert_eq!(out.status.code(), Some(124), "{script}: {}", stderr(&out));
    }
    // Ending in time is the payload's own status.
    let out = run_argv(&wrapped(&p, &["/bin/sh", "-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn signals_sent_to_stockade_reach_the_payload_once_and_init_ignores_outsiders() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("sv-fwd");
    let [p, _] = profiles(&dir);
    let mut child = Command::new(stockade_bin())
        .args(["run".as_ref(), p.as_os_str(), "--".as_ref()])
        .args(["/probe/stockade-testd", "count-signals"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("ready");
    assert_eq!(line.trim(), "ready");
    let stockade = child.id() as i32;
    let init = children_of(stockade)[0];
    // SAFETY: kill with integer arguments.
    unsafe {
        libc::kill(stockade, libc::SIGRTMIN() + 1);
        // Straight to init's host pid: as for a real PID 1, dropped.
        libc::kill(init, libc::SIGRTMIN() + 1);
        libc::kill(stockade, libc::SIGRTMIN() + 1);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: as above.
    unsafe { libc::kill(stockade, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{rest}");
    let rt = format!("signal {} ", libc::SIGRTMIN() + 1);
    assert_eq!(rest.matches(&rt).count(), 2, "{rest}");
}

fn children_of(pid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(n) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{n}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|s| s.parse::<i32>().ok());
        if ppid == Some(pid) {
            v.push(n);
        }
    }
    v
}
