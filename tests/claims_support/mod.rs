//! Helpers for tests/profile_claims.rs: run a shipped profile with the probe bound in, many
//! probe calls in one sandbox, and the assertions several profiles share.
#![allow(dead_code)]

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

pub fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(name)
}

/// A profile extending `profiles/NAME` that only adds the probe, read-only at /probe.
pub fn with_probe(dir: &TempDir, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(shipped(name)).expect("shipped profile");
    let landlock = if text.contains("\n[landlock]") {
        "[landlock]\nexec = [\"/probe\"]\n"
    } else {
        ""
    };
    dir.profile(
        &format!("{}.probe.toml", name.replace('/', "-")),
        &format!(
            "extends = [\"{}\"]\n[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/probe\"\nread-only = true\n{landlock}",
            shipped(name).display(),
            probe_dir().display()
        ),
    )
}

/// One probe call: a label and the probe's arguments.
pub type Check = (&'static str, Vec<String>);

pub fn c(label: &'static str, args: &[&str]) -> Check {
    (label, args.iter().map(|s| s.to_string()).collect())
}

/// A shell script running every check, each line `LABEL {json}`.
pub fn script(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|(label, args)| {
            let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
            format!(
                "printf '\\n%s ' {label}; /probe/stockade-probe {}",
                quoted.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn parse(out: &Output) -> HashMap<String, Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (label, json) = l.split_once(' ')?;
            Some((label.to_string(), serde_json::from_str(json).ok()?))
        })
        .collect()
}

/// Run the checks in one sandbox of `profile`, from `cwd`, with `env`.
pub fn probe(
    profile: &Path,
    cwd: &Path,
    env: &[(&str, &str)],
    checks: &[Check],
) -> (HashMap<String, Value>, Output) {
    let mut cmd = TestCommand::run(profile, &["/bin/sh", "-c", &script(checks)]).current_dir(cwd);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    assert!(
        out.status.success(),
        "{}: {:?}\n{}",
        profile.display(),
        out.status,
        stderr(&out)
    );
    let r = parse(&out);
    for (label, _) in checks {
        assert!(
            r.contains_key(*label),
            "no answer for {label}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    (r, out)
}

/// The topmost mount at `target` (later mounts stack on earlier ones).
pub fn mount_at<'a>(facts: &'a Value, target: &str) -> &'a Value {
    facts["mounts"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["target"] == target))
        .unwrap_or_else(|| panic!("no mount at {target}"))
}

pub fn read_only_mount(facts: &Value, target: &str) {
    let m = mount_at(facts, target);
    assert!(
        m["options"].as_array().unwrap().iter().any(|o| o == "ro"),
        "{target} is not a read-only mount: {m}"
    );
}

/// A write that failed because the filesystem or Landlock refused it.
pub fn refused(r: &HashMap<String, Value>, label: &str) {
    let v = &r[label];
    assert_eq!(v["ok"], false, "{label} succeeded: {v}");
    let e = v["errno"].as_str().unwrap_or_default();
    assert!(
        ["EROFS", "EACCES", "EPERM"].contains(&e),
        "{label}: unexpected {v}"
    );
}

pub fn errno(r: &HashMap<String, Value>, label: &str) -> String {
    r[label]["errno"].as_str().unwrap_or("none").to_string()
}

/// Namespaces that must differ from the host's; `net` too unless `host_net`.
pub fn own_namespaces(facts: &Value, host_net: bool) {
    let host = host_namespaces();
    for ns in ["user", "mnt", "pid", "ipc", "uts", "cgroup", "net"] {
        let same = facts["namespaces"][ns] == host[ns];
        if ns == "net" && host_net {
            assert!(same, "web-static uses the host network: {facts:#}");
        } else {
            assert!(!same, "namespace {ns} is the host's");
        }
    }
}

pub fn loopback_only(facts: &Value) {
    let ifaces: Vec<&String> = facts["interfaces"].as_object().unwrap().keys().collect();
    assert_eq!(ifaces, ["lo"], "network beyond loopback");
}

/// No capabilities in any set, no_new_privs, a seccomp filter.
pub fn locked_down(facts: &Value) {
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(facts["status"][set], "0000000000000000", "{set}");
    }
    assert_eq!(facts["status"]["NoNewPrivs"], "1");
    assert_eq!(facts["status"]["Seccomp"], "2");
}

/// A TCP listener on the host's 127.0.0.1 (kept open while the sandbox runs).
pub fn host_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = l.local_addr().unwrap().port().to_string();
    (l, port)
}

pub fn landlock_net() -> bool {
    // SAFETY: the version query of landlock_create_ruleset creates nothing.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    abi >= 4
}

pub fn env_of<'a>(facts: &'a Value, k: &str) -> Option<&'a str> {
    facts["env"][k].as_str()
}

/// `stockade plan P --format json` from a fresh project directory (profiles bind `${PWD}`).
pub fn plan_json(p: &Path) -> Value {
    let dir = TempDir::new("claims-plan");
    let out = TestCommand::new([
        "plan".as_ref(),
        p.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .current_dir(dir.path())
    .output();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("plan JSON")
}

/// A busybox root filesystem (static busybox linked in, applets installed), if there is one.
pub fn busybox_rootfs(dir: &TempDir) -> Option<PathBuf> {
    let busybox = Path::new("/bin/busybox");
    let root = dir.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).ok()?;
    std::fs::copy(busybox, bin.join("busybox")).ok()?;
    let ok = std::process::Command::new(bin.join("busybox"))
        .arg("--install")
        .arg(&bin)
        .status()
        .ok()?
        .success();
    for d in ["proc", "dev", "tmp", "root", "etc"] {
        std::fs::create_dir_all(root.join(d)).ok()?;
    }
    // A dynamically linked busybox cannot run in a root without libraries.
    let static_ok = std::process::Command::new("sh")
        .args(["-c", "file -L /bin/busybox | grep -q static"])
        .status()
        .is_ok_and(|s| s.success());
    (ok && static_ok).then_some(root)
}
