//! Resource limits against the caller's own: shipped profiles run unchanged on a host whose
//! hard RLIMIT_NOFILE is low (CI runners, containers: 4096), and a profile that asks for more
//! than the caller may have fails at `check` with the key, the host's limit and the fix —
//! not with a bare EPERM from setrlimit half-way through building the sandbox.
//!
//! The low host is made with prlimit(1) on the stockade process, as root (who lacks
//! CAP_SYS_RESOURCE on this machine, like a container's root) and as the test user.

mod common;

use common::{need_sandbox, need_user, probe_dir, stockade_bin, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `prlimit --nofile=SOFT:HARD stockade ARGS` in `cwd`, as `user` when given.
fn stockade_limited(
    nofile: &str,
    cwd: &Path,
    user: Option<(u32, u32)>,
    args: &[&std::ffi::OsStr],
) -> Output {
    let mut c = Command::new("prlimit");
    c.arg(format!("--nofile={nofile}"))
        .arg("--")
        .arg(stockade_bin())
        .args(args)
        .current_dir(cwd);
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            c.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c.env("HOME", "/nonexistent").env("USER", "stockade-test");
    }
    c.output().expect("run prlimit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn shipped_profiles() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("profiles"))
        .expect("profiles/")
        .filter_map(|e| e.ok())
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    v.sort();
    v.extend(["builtin:minimal".into(), "builtin:strict".into()]);
    v
}

fn check_all_shipped(user: Option<(u32, u32)>) {
    let dir = TempDir::new("rlimit-check");
    if let Some((uid, gid)) = user {
        dir.chown(uid, gid);
    }
    for p in shipped_profiles() {
        let out = stockade_limited(
            "1024:4096",
            dir.path(),
            user,
            &["check".as_ref(), p.as_ref()],
        );
        assert!(
            out.status.success(),
            "{p} under a hard NOFILE of 4096: {}",
            stderr(&out)
        );
    }
}

#[test]
fn every_shipped_profile_checks_under_a_hard_nofile_of_4096_as_root() {
    if common::need_root() {
        return;
    }
    check_all_shipped(None);
}

#[test]
fn every_shipped_profile_checks_under_a_hard_nofile_of_4096_as_a_user() {
    let Some(user) = need_user() else { return };
    check_all_shipped(Some(user));
}

/// cargo-build.toml with the probe as the command: inside, NOFILE is the caller's 4096.
fn cargo_profile_gets_the_callers_limit(user: Option<(u32, u32)>) {
    let dir = TempDir::new("rlimit-run");
    let probe = dir.join("probe");
    std::fs::copy(probe_dir().join("stockade-probe"), &probe).expect("copy the probe");
    if let Some((uid, gid)) = user {
        dir.chown(uid, gid);
    }
    let profile = repo().join("profiles/cargo-build.toml");
    let out = stockade_limited(
        "1024:4096",
        dir.path(),
        user,
        &[
            "run".as_ref(),
            profile.as_os_str(),
            "--".as_ref(),
            probe.as_os_str(),
            "facts".as_ref(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let facts: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON from the probe: {}", stderr(&out)));
    // `nofile = "host"`: soft and hard both the caller's hard limit.
    assert_eq!(
        facts["rlimits"]["RLIMIT_NOFILE"],
        serde_json::json!([4096, 4096])
    );
    assert_eq!(facts["rlimits"]["RLIMIT_CORE"], serde_json::json!([0, 0]));
}

#[test]
fn cargo_build_profile_takes_the_callers_nofile_as_root() {
    if need_sandbox() || common::need_root() {
        return;
    }
    cargo_profile_gets_the_callers_limit(None);
}

#[test]
fn cargo_build_profile_takes_the_callers_nofile_as_a_user() {
    if need_sandbox() {
        return;
    }
    let Some(user) = need_user() else { return };
    cargo_profile_gets_the_callers_limit(Some(user));
}

#[test]
fn a_real_cargo_build_runs_under_a_hard_nofile_of_4096() {
    if need_sandbox() || common::need_root() {
        return;
    }
    let Ok(home) = std::env::var("HOME") else {
        common::skip("HOME is not set (cargo's toolchain lives there)");
        return;
    };
    if !Path::new(&home).join(".cargo/bin/cargo").exists() {
        common::skip("no rustup toolchain in $HOME/.cargo");
        return;
    }
    let dir = TempDir::new("rlimit-cargo");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir src");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("Cargo.toml");
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"built in the sandbox\"); }\n",
    )
    .expect("main.rs");
    let profile = repo().join("profiles/cargo-build.toml");
    let out = stockade_limited(
        "4096:4096",
        dir.path(),
        None,
        &["run".as_ref(), profile.as_os_str()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let built = Command::new(dir.join("target/debug/fixture"))
        .output()
        .expect("run the built program");
    assert_eq!(
        String::from_utf8_lossy(&built.stdout),
        "built in the sandbox\n"
    );
}

#[test]
fn a_hard_limit_above_the_callers_is_a_located_error_with_the_fix() {
    if common::need_root() {
        return;
    }
    let dir = TempDir::new("rlimit-bad");
    let p = dir.profile(
        "too-high.toml",
        "extends = [\"builtin:strict\"]\n\n[rlimits]\nnofile = { soft = 1024, hard = 65536 }\n",
    );
    for user in [None, need_user()] {
        if let Some((uid, gid)) = user {
            dir.chown(uid, gid);
        }
        let out = stockade_limited(
            "1024:4096",
            dir.path(),
            user,
            &["check".as_ref(), p.as_os_str()],
        );
        let err = stderr(&out);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("too-high.toml:5:"), "no location: {err}");
        assert!(err.contains("rlimits.nofile"), "no key: {err}");
        assert!(
            err.contains("a hard limit of 65536 is above the caller's hard limit of 4096"),
            "{err}"
        );
        assert!(err.contains("hard = \"host\""), "no fix: {err}");
        // `run` refuses the same before anything starts (no EPERM from the child).
        let out = stockade_limited(
            "1024:4096",
            dir.path(),
            user,
            &[
                "run".as_ref(),
                p.as_os_str(),
                "--".as_ref(),
                "/bin/true".as_ref(),
            ],
        );
        assert!(!out.status.success());
        assert!(!stderr(&out).contains("EPERM"), "{}", stderr(&out));
        assert!(stderr(&out).contains("rlimits.nofile"), "{}", stderr(&out));
    }
}
