//! stockade inside a real, unprivileged podman container (not `--privileged`, runc, the
//! host's /usr bound in, the built binary at /stockade), each case side by side with the
//! plain command in the same container:
//! - the default container masks /proc: `doctor` predicts the refusal and names
//!   `--security-opt unmask=/proc/*`, and the run fails with the same advice;
//! - with /proc unmasked, podman's default seccomp profile still refuses sethostname(2):
//!   `doctor` and the run both name the filter and the way out;
//! - with /proc unmasked, a profile without a hostname runs a sandbox with its own user,
//!   mount and PID namespaces under podman's default seccomp profile, and with
//!   `seccomp=unconfined` builtin:minimal runs as it does on the host;
//! - rootless podman (the test user, its subordinate ids) gives the same results.
//!
//! podman here needs its own storage and explicit ulimits (FIELD-NOTES: its default
//! ulimits exceed this host's hard limits); one container per case, ~1 s each.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Output};

/// A profile like builtin:minimal without `filesystem.hostname`.
const NO_HOSTNAME: &str = r#"version = 1
[process]
cwd = "/"
[env]
clear = true
keep = ["PATH"]
[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true
[network]
mode = "none"
[filesystem]
root = "tmpfs"
[[mount]]
type = "bind"
source = "/usr"
read-only = true
nosuid = false
[[mount]]
type = "symlink"
source = "usr/bin"
target = "/bin"
[[mount]]
type = "symlink"
source = "usr/lib"
target = "/lib"
[[mount]]
type = "symlink"
source = "usr/lib64"
target = "/lib64"
[[mount]]
type = "proc"
[[mount]]
type = "tmpfs"
target = "/tmp"
"#;

/// What a payload prints about itself: PID, user and UTS namespaces, its pid, the hostname.
const SELF: &str = "echo $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/user) \
                    $(readlink /proc/self/ns/uts) $$ $(cat /proc/sys/kernel/hostname)";

struct Podman {
    dir: TempDir,
    /// Rootless: podman runs as the test user (its own user namespace, subordinate ids).
    user: bool,
}

impl Podman {
    /// None (after a skip) when podman or runc is missing or we are not root.
    fn new() -> Option<Podman> {
        Podman::setup(false)
    }

    /// Rootless podman, as the unprivileged test user.
    fn rootless() -> Option<Podman> {
        need_user()?;
        Podman::setup(true)
    }

    fn setup(user: bool) -> Option<Podman> {
        if need_root() {
            return None;
        }
        for tool in ["podman", "runc"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                skip(&format!("{tool} is not installed (setup.sh installs it)"));
                return None;
            }
        }
        let dir = TempDir::new("podman-nest");
        let root = dir.join("rootfs");
        for d in ["usr", "proc", "sys", "dev", "tmp", "etc", "work"] {
            std::fs::create_dir_all(root.join(d)).expect("rootfs dir");
        }
        for d in ["bin", "sbin", "lib", "lib64"] {
            std::os::unix::fs::symlink(format!("usr/{d}"), root.join(d)).expect("rootfs link");
        }
        std::fs::write(dir.join("no-hostname.toml"), NO_HOSTNAME).expect("profile");
        if user {
            let (uid, gid) = test_user()?;
            std::fs::create_dir_all(dir.join("xdg")).expect("runtime dir");
            let owned = Command::new("chown")
                .args(["-R", &format!("{uid}:{gid}")])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(owned, "chown of the podman test dir");
        }
        Some(Podman { dir, user })
    }

    /// `sh -c script` in a fresh container with `opts`; the test dir is at /work.
    fn run(&self, opts: &[&str], script: &str) -> Output {
        let d = |p: &str| self.dir.join(p).display().to_string();
        let mut cmd = if self.user {
            let mut c = Command::new("runuser");
            c.args(["-u", TEST_USER, "--", "env"])
                .arg(format!("HOME={}", self.dir.path().display()))
                .arg(format!("XDG_RUNTIME_DIR={}", d("xdg")))
                .arg("podman");
            c
        } else {
            Command::new("podman")
        };
        cmd.args([
            "--root",
            &d("storage"),
            "--runroot",
            &d("run"),
            "--tmpdir",
            &d("tmp"),
        ])
        .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
        .args([
            "--events-backend",
            "file",
            "--runtime",
            "runc",
            "run",
            "--rm",
        ])
        .args(["--network", "none", "--ulimit", "nofile=1024:1024"])
        .args(["--ulimit", "nproc=1024:1024"])
        .args(opts)
        .args(["-v", "/usr:/usr:ro"])
        .arg("-v")
        .arg(format!("{}:/stockade:ro", stockade_bin().display()))
        .arg("-v")
        .arg(format!("{}:/work", self.dir.path().display()))
        .args(["--rootfs", &d("rootfs"), "sh", "-c", script]);
        cmd.output().expect("podman")
    }

    fn doctor(&self, opts: &[&str], profile: &str) -> (i32, Value) {
        let out = self.run(
            opts,
            &format!("/stockade doctor --format json {profile}; echo rc=$?"),
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (json, rc) = text.rsplit_once("rc=").unwrap_or((&text, "-1"));
        let v = serde_json::from_str(json).unwrap_or_else(|e| {
            panic!("doctor JSON: {e}\n{text}\n{}", stderr(&out));
        });
        (rc.trim().parse().unwrap_or(-1), v)
    }
}

/// The needs of the first profile that doctor says fail here.
fn failing_needs(v: &Value) -> Vec<Value> {
    v["profiles"][0]["needs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|n| n["verdict"] == "fails")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The sandboxed line and the plain one, run in one container (same namespaces for both).
fn side_by_side(p: &Podman, opts: &[&str], profile: &str) -> (String, String, i32) {
    let script = format!(
        "cd /tmp; {SELF}; /stockade run {profile} -- sh -c '{SELF}; exit 7'; echo rc=$?",
        SELF = SELF.replace('\'', "")
    );
    let out = p.run(opts, &script);
    let t = text(&out);
    let lines: Vec<&str> = t.lines().collect();
    let rc = lines
        .iter()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or(-1);
    assert!(lines.len() >= 3, "{t}");
    (lines[0].to_string(), lines[1].to_string(), rc)
}

#[test]
fn a_masked_proc_is_predicted_by_doctor_and_named_by_the_run() {
    let Some(p) = Podman::new() else { return };
    let plain = p.run(&[], "true; echo plain=$?");
    assert!(text(&plain).contains("plain=0"), "{}", text(&plain));
    let (rc, v) = p.doctor(&[], "builtin:minimal");
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["host"]["proc_mount"]["probe"]["works"], false, "{v:#}");
    assert_eq!(v["host"]["nesting"]["container"], "podman", "{v:#}");
    let fails = failing_needs(&v);
    assert!(
        fails
            .iter()
            .any(|n| n["key"].as_str().is_some_and(|k| k.contains("proc"))
                && n["hint"]
                    .as_str()
                    .is_some_and(|h| h.contains("unmask=/proc/*"))),
        "{v:#}"
    );
    let run = p.run(&[], "/stockade run builtin:minimal -- true; echo rc=$?");
    let t = text(&run);
    assert!(t.contains("rc=125"), "{t}");
    assert!(
        t.contains("fsmount(2): EPERM") && t.contains("--security-opt unmask=/proc/*"),
        "{t}"
    );
}

#[test]
fn a_seccomp_filter_refusing_sethostname_is_predicted_and_named() {
    let Some(p) = Podman::new() else { return };
    let unmask = ["--security-opt", "unmask=/proc/*"];
    let (rc, v) = p.doctor(&unmask, "builtin:minimal");
    assert_eq!(rc, 1, "{v:#}");
    assert_eq!(v["host"]["proc_mount"]["probe"]["works"], true, "{v:#}");
    assert_eq!(v["host"]["hostname"]["works"], false, "{v:#}");
    let fails = failing_needs(&v);
    assert_eq!(fails.len(), 1, "{v:#}");
    assert_eq!(fails[0]["key"], "filesystem.hostname", "{v:#}");
    assert!(
        fails[0]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("seccomp=unconfined")),
        "{v:#}"
    );
    let run = p.run(&unmask, "/stockade run builtin:minimal -- true; echo rc=$?");
    let t = text(&run);
    assert!(t.contains("rc=125"), "{t}");
    assert!(
        t.contains("sethostname(2): EPERM") && t.contains("seccomp=unconfined"),
        "{t}"
    );
    // The plain command hits the same wall: the refusal is the container's, not stockade's.
    let plain = p.run(&unmask, "unshare -Ur -u hostname x; echo plain=$?");
    assert!(text(&plain).contains("plain=1"), "{}", text(&plain));
}

#[test]
fn an_unmasked_container_runs_a_sandbox_with_its_own_namespaces() {
    let Some(p) = Podman::new() else { return };
    let unmask = ["--security-opt", "unmask=/proc/*"];
    let (rc, v) = p.doctor(&unmask, "/work/no-hostname.toml");
    assert_eq!(rc, 0, "{v:#}");
    assert!(failing_needs(&v).is_empty(), "{v:#}");
    let (outer, inner, rc) = side_by_side(&p, &unmask, "/work/no-hostname.toml");
    check_nested(&outer, &inner, rc, None);

    // Without podman's seccomp profile, builtin:minimal (which names its host) runs too.
    let unconfined = [
        "--security-opt",
        "unmask=/proc/*",
        "--security-opt",
        "seccomp=unconfined",
    ];
    let (rc, v) = p.doctor(&unconfined, "builtin:minimal");
    assert_eq!(rc, 0, "{v:#}");
    let (outer, inner, rc) = side_by_side(&p, &unconfined, "builtin:minimal");
    check_nested(&outer, &inner, rc, Some("sandbox"));
}

/// The inner payload has PID, user and UTS namespaces of its own, is PID 2 under
/// stockade's init, and its exit status comes through.
fn check_nested(outer: &str, inner: &str, rc: i32, hostname: Option<&str>) {
    let o: Vec<&str> = outer.split(' ').collect();
    let i: Vec<&str> = inner.split(' ').collect();
    assert_eq!(
        (o.len(), i.len()),
        (5, 5),
        "outer {outer:?} inner {inner:?}"
    );
    for k in 0..3 {
        assert_ne!(o[k], i[k], "inner shares a namespace: {outer} / {inner}");
    }
    assert_eq!(
        i[3], "2",
        "the payload is not PID 2 of its own namespace: {inner}"
    );
    if let Some(h) = hostname {
        assert_eq!(i[4], h, "{inner}");
    }
    assert_eq!(rc, 7, "exit status lost: {outer} / {inner}");
}

#[test]
fn a_rootless_podman_container_runs_a_sandbox_and_names_what_it_refuses() {
    let Some(p) = Podman::rootless() else { return };
    let unmask = ["--security-opt", "unmask=/proc/*"];
    let uid_map = p.run(&unmask, "cat /proc/self/uid_map");
    assert!(
        !text(&uid_map).contains("4294967295"),
        "not a rootless container: {}",
        text(&uid_map)
    );
    let (outer, inner, rc) = side_by_side(&p, &unmask, "/work/no-hostname.toml");
    check_nested(&outer, &inner, rc, None);
    let run = p.run(&unmask, "/stockade run builtin:minimal -- true; echo rc=$?");
    let t = text(&run);
    assert!(
        t.contains("rc=125") && t.contains("seccomp=unconfined"),
        "{t}"
    );
}
