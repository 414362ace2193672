//! Real sandboxes: what the probe sees inside, asserted against the profile and its plan,
//! for every mount type and option, as root and as an unprivileged user.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// The reference sandbox: every namespace but cgroup and time, a tmpfs root, the runtime,
/// proc, dev, a sized /tmp.
fn base_body(extra: &str) -> String {
    format!(
        r#"
[process]
cwd = "/"
umask = "027"

[env]
clear = true
set = {{ PATH = "/usr/bin:/bin", FOO = "bar baz" }}

[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true
net = true

[filesystem]
root = "tmpfs"
hostname = "probe-host"
{}
[[mount]]
type = "proc"

[[mount]]
type = "dev"

[[mount]]
type = "tmpfs"
target = "/tmp"
size = "1MiB"
mode = "1777"
{extra}
"#,
        runtime_mounts()
    )
}

fn mount<'a>(facts: &'a Value, target: &str) -> &'a Value {
    facts["mounts"]
        .as_array()
        .and_then(|ms| ms.iter().rev().find(|m| m["target"] == target))
        .unwrap_or_else(|| panic!("no mount at {target} in {:#}", facts["mounts"]))
}

fn has_opt(m: &Value, opt: &str) -> bool {
    m["options"]
        .as_array()
        .is_some_and(|o| o.iter().any(|x| x == opt))
}

fn has_super_opt(m: &Value, opt: &str) -> bool {
    m["super_options"]
        .as_array()
        .is_some_and(|o| o.iter().any(|x| x == opt))
}

/// Compare every mount of the plan with the mount table seen inside.
fn check_against_plan(profile: &Path, facts: &Value) {
    let out = TestCommand::new([
        "plan".as_ref(),
        profile.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])
    .output();
    assert!(out.status.success(), "plan failed: {}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    // Lockdown as planned: no capability left when none is kept, no_new_privs.
    if plan["capabilities"]["keep"]
        .as_array()
        .is_some_and(|k| k.is_empty())
    {
        for set in ["CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"] {
            assert_eq!(facts["status"][set], "0000000000000000", "{set}");
        }
    }
    if plan["capabilities"]["no_new_privs"] == true {
        assert_eq!(facts["status"]["NoNewPrivs"], "1");
    }
    assert_eq!(
        facts["hostname"],
        plan["hostname"]
            .as_str()
            .map_or(facts["hostname"].clone(), Value::from)
    );
    for m in plan["mounts"].as_array().expect("mounts") {
        let kind = m["op"]["type"].as_str().unwrap_or_default();
        if matches!(kind, "dir" | "file" | "symlink") {
            continue;
        }
        if kind == "bind" && m["op"]["optional"] == true {
            continue;
        }
        let target = m["target"].as_str().expect("target");
        let seen = mount(facts, target);
        for (flag, opt) in [
            ("read_only", "ro"),
            ("nosuid", "nosuid"),
            ("nodev", "nodev"),
            ("noexec", "noexec"),
        ] {
            if m["flags"][flag] == true {
                assert!(
                    has_opt(seen, opt),
                    "{target}: plan says {flag}, mount shows {seen}"
                );
            }
        }
        if m["flags"]["read_only"] == false && kind != "bind" {
            assert!(
                has_opt(seen, "rw"),
                "{target}: plan says writable, mount shows {seen}"
            );
        }
        let fstype = seen["fstype"].as_str().unwrap_or_default();
        match kind {
            "tmpfs" | "dev" => assert_eq!(fstype, "tmpfs", "{target}"),
            "proc" => assert_eq!(fstype, "proc"),
            "devpts" => assert_eq!(fstype, "devpts"),
            "mqueue" => assert_eq!(fstype, "mqueue"),
            "overlay" => assert_eq!(fstype, "overlay"),
            _ => {}
        }
    }
}

/// Facts every run of [`base_body`] must show, for a caller mapped from `outside_uid`.
fn check_base_facts(f: &Value, outside_uid: u32, outside_gid: u32, rootless: bool) {
    let host = host_namespaces();
    for ns in ["user", "mnt", "pid", "net", "ipc", "uts"] {
        assert_ne!(f["namespaces"][ns], host[ns], "namespace {ns} must be new");
        assert!(f["namespaces"][ns].is_u64(), "namespace {ns} unreadable");
    }
    for ns in ["cgroup", "time"] {
        assert_eq!(
            f["namespaces"][ns], host[ns],
            "namespace {ns} must be the host's"
        );
    }
    assert_eq!(f["uid"], serde_json::json!([0, 0, 0]));
    assert_eq!(f["gid"], serde_json::json!([0, 0, 0]));
    assert_eq!(f["uid_map"], serde_json::json!([[0, outside_uid, 1]]));
    assert_eq!(f["gid_map"], serde_json::json!([[0, outside_gid, 1]]));
    assert_eq!(f["setgroups"], if rootless { "deny" } else { "allow" });
    assert_eq!(f["hostname"], "probe-host");
    let env = f["env"].as_object().expect("env");
    assert_eq!(env.len(), 2, "env: {env:?}");
    assert_eq!(env["FOO"], "bar baz");
    assert_eq!(env["PATH"], "/usr/bin:/bin");
    assert_eq!(f["cwd"], "/");
    assert_eq!(f["umask"], 0o027);
    // Init is PID 1 and the session leader; the payload is PID 2 in that new session.
    assert_eq!(f["pid"], 2);
    assert_eq!(f["ppid"], 1);
    assert_eq!(f["sid"], 1);
    // Only loopback, and it is up.
    let ifs = f["interfaces"].as_object().expect("interfaces");
    assert_eq!(ifs.keys().collect::<Vec<_>>(), ["lo"]);
    assert_eq!(ifs["lo"]["up"], true);
    // Mounts: exactly the profile's, nothing of the host's.
    let expected = [
        "/",
        "/usr",
        "/probe",
        "/proc",
        "/dev",
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/pts",
        "/dev/shm",
        "/tmp",
    ];
    for m in f["mounts"].as_array().expect("mounts") {
        let t = m["target"].as_str().unwrap_or_default();
        assert!(
            expected.contains(&t) || t.starts_with("/proc/"),
            "unexpected mount {t} inside the sandbox"
        );
    }
    let root = mount(f, "/");
    assert_eq!(root["fstype"], "tmpfs");
    let usr = mount(f, "/usr");
    assert!(
        has_opt(usr, "ro") && has_opt(usr, "nosuid") && has_opt(usr, "nodev"),
        "{usr}"
    );
    let proc = mount(f, "/proc");
    assert_eq!(proc["fstype"], "proc");
    assert!(has_opt(proc, "nosuid") && has_opt(proc, "nodev") && has_opt(proc, "noexec"));
    // Sensitive proc paths: masked (kcore, keys, timer_list) or read-only (sys, sysrq-trigger).
    // (Only those this kernel has: kcore and sysrq-trigger are config options.)
    let exists = |p: &&&str| Path::new(p).exists();
    for p in [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
    ]
    .iter()
    .filter(exists)
    {
        assert_eq!(
            mount(f, p)["root"],
            "/null",
            "{p} must be masked by /dev/null"
        );
    }
    for p in [
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/proc/irq",
        "/proc/bus",
        "/proc/fs",
    ]
    .iter()
    .filter(exists)
    {
        assert!(has_opt(mount(f, p), "ro"), "{p} must be read-only");
    }
    let tmp = mount(f, "/tmp");
    assert_eq!(tmp["fstype"], "tmpfs");
    assert!(has_super_opt(tmp, "size=1024k"), "{tmp}");
    // /dev: the minimal set, devices bound from the host, a private devpts, shm.
    let dev = f["dev"].as_object().expect("/dev listing");
    for d in ["null", "zero", "full", "random", "urandom", "tty"] {
        assert_eq!(dev[d], "char", "/dev/{d}");
    }
    for (l, to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        assert_eq!(dev[l], format!("symlink:{to}"), "/dev/{l}");
    }
    assert_eq!(dev["pts"], "dir");
    assert_eq!(dev["shm"], "dir");
    assert_eq!(mount(f, "/dev/pts")["fstype"], "devpts");
    assert_eq!(mount(f, "/dev/shm")["fstype"], "tmpfs");
    assert_eq!(mount(f, "/dev")["fstype"], "tmpfs");
}

fn try_json(profile: &Path, user: Option<(u32, u32)>, args: &[&str]) -> Value {
    let mut full = vec![PROBE];
    full.extend_from_slice(args);
    let cmd = TestCommand::run(profile, &full);
    let cmd = match user {
        Some((u, g)) => cmd.with_user(u, g),
        None => cmd,
    };
    ok_json(&cmd.output())
}

fn errno_of(v: &Value) -> &str {
    if v["ok"] == true {
        "OK"
    } else {
        v["errno"].as_str().unwrap_or("?")
    }
}

fn facts_as(user: Option<(u32, u32)>, tag: &str) {
    let dir = TempDir::new(tag);
    let p = dir.profile("base.toml", &base_body(""));
    let f = try_json(&p, user, &["facts"]);
    let (u, g) = user.unwrap_or((0, 0));
    check_base_facts(&f, u, g, user.is_some());
    check_against_plan(&p, &f);
    // Writes: the read-only /usr refuses, /tmp accepts, proc's sys is read-only.
    assert_eq!(
        errno_of(&try_json(&p, user, &["try-write", "/usr/x"])),
        "EROFS"
    );
    assert_eq!(
        errno_of(&try_json(&p, user, &["try-write", "/tmp/x"])),
        "OK"
    );
    // tmpfs mode 1777 (the kernel does not list a default mode among the options).
    assert_eq!(try_json(&p, user, &["stat", "/tmp"])["mode"], 0o1777);
    // As root the read-only mount refuses; rootless, the host-owned file already does.
    let sys = try_json(&p, user, &["try-write", "/proc/sys/kernel/hostname"]);
    let expected: &[&str] = if user.is_some() {
        &["EROFS", "EACCES"]
    } else {
        &["EROFS"]
    };
    assert!(expected.contains(&errno_of(&sys)), "{sys}");
    // A masked proc file reads as empty (the host's has content).
    assert!(!std::fs::read_to_string("/proc/timer_list")
        .unwrap_or_default()
        .is_empty());
    let masked = try_json(&p, user, &["cat", "/proc/timer_list"]);
    assert_eq!(masked["content"], "", "{masked}");
}

#[test]
fn base_facts_as_root() {
    if need_root() || need_sandbox() {
        return;
    }
    facts_as(None, "facts-root");
}

#[test]
fn base_facts_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(user) = need_user() else { return };
    facts_as(Some(user), "facts-user");
}

/// Every mount type and option, in one profile, as `user` (None: root).
fn mount_types_as(user: Option<(u32, u32)>, tag: &str) {
    let dir = TempDir::new(tag);
    let (lower1, lower2, upper, work) = (
        dir.join("lower1"),
        dir.join("lower2"),
        dir.join("upper"),
        dir.join("work"),
    );
    for d in [&lower1, &lower2, &upper, &work] {
        std::fs::create_dir(d).expect("mkdir");
    }
    std::fs::write(lower1.join("a"), "from lower1").expect("write");
    std::fs::write(lower2.join("b"), "from lower2").expect("write");
    if let Some((u, g)) = user {
        for d in [&upper, &work] {
            std::os::unix::fs::chown(d, Some(u), Some(g)).expect("chown");
        }
    }
    let probe_dir = probe_dir();
    let extra = format!(
        r#"
[[mount]]
type = "bind"
source = "{probe}"
target = "/probe-noexec"
read-only = true
noexec = true

[[mount]]
type = "bind"
source = "/dev/null"
target = "/nulldev-nodev"

[[mount]]
type = "bind"
source = "/dev/null"
target = "/nulldev-dev"
nodev = false

[[mount]]
type = "bind"
source = "/nonexistent/stockade-optional"
target = "/optional"
optional = true

[[mount]]
type = "dir"
target = "/data/sub/dir"
mode = "0750"

[[mount]]
type = "file"
target = "/data/file.txt"
content = "hello\n"
mode = "0640"

[[mount]]
type = "file"
target = "/data/ro.txt"
content = "locked"
read-only = true

[[mount]]
type = "symlink"
source = "/data/file.txt"
target = "/data/link"

[[mount]]
type = "tmpfs"
target = "/scratch"
size = "64KiB"
mode = "0700"
noexec = true

[[mount]]
type = "overlay"
target = "/ovl"
lower = ["{l1}", "{l2}"]
upper = "{up}"
work = "{wk}"

[[mount]]
type = "overlay"
target = "/ovl-ro"
lower = ["{l1}", "{l2}"]

[[mount]]
type = "mqueue"
"#,
        probe = probe_dir.display(),
        l1 = lower1.display(),
        l2 = lower2.display(),
        up = upper.display(),
        wk = work.display(),
    );
    let p = dir.profile("types.toml", &base_body(&extra));
    let report = dir.join("report.json");
    let mut cmd = TestCommand::new([
        "run".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
        p.as_os_str(),
        "--".as_ref(),
        PROBE.as_ref(),
        "facts".as_ref(),
    ]);
    if let Some((u, g)) = user {
        cmd = cmd.with_user(u, g);
        std::os::unix::fs::chown(dir.path(), Some(u), Some(g)).expect("chown");
    }
    let f = ok_json(&cmd.output());
    check_against_plan(&p, &f);
    // The optional bind was skipped and the report says so.
    let rep: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("report JSON");
    let skipped = rep["skipped"].to_string();
    assert!(skipped.contains("/optional"), "report: {rep:#}");
    assert_eq!(rep["exit"]["cause"], "exit");
    assert!(!f["mounts"].to_string().contains("\"/optional\""));

    let t = |args: &[&str]| try_json(&p, user, args);
    // noexec / nodev / nosuid.
    assert_eq!(
        errno_of(&t(&[
            "try-exec",
            "/probe-noexec/stockade-probe",
            "exit",
            "0"
        ])),
        "EACCES"
    );
    assert_eq!(errno_of(&t(&["try-read", "/nulldev-nodev"])), "EACCES");
    assert_eq!(errno_of(&t(&["try-read", "/nulldev-dev"])), "OK");
    assert!(has_opt(mount(&f, "/nulldev-nodev"), "nosuid"));
    // dir, file, read-only file, symlink (modes exact despite the caller's umask).
    let d = t(&["stat", "/data/sub/dir"]);
    assert_eq!(
        (d["type"].as_str(), d["mode"].as_u64()),
        (Some("dir"), Some(0o750)),
        "{d}"
    );
    let file = t(&["stat", "/data/file.txt"]);
    assert_eq!(file["mode"], 0o640);
    assert_eq!(t(&["cat", "/data/file.txt"])["content"], "hello\n");
    assert_eq!(t(&["cat", "/data/ro.txt"])["content"], "locked");
    assert_eq!(errno_of(&t(&["try-write", "/data/ro.txt"])), "EROFS");
    assert_eq!(errno_of(&t(&["try-write", "/data/new"])), "OK");
    let l = t(&["stat", "/data/link"]);
    assert_eq!(
        (l["type"].as_str(), l["link"].as_str()),
        (Some("symlink"), Some("/data/file.txt"))
    );
    assert_eq!(t(&["cat", "/data/link"])["content"], "hello\n");
    // tmpfs size, mode, noexec.
    let s = mount(&f, "/scratch");
    assert!(
        has_super_opt(s, "size=64k") && has_super_opt(s, "mode=700") && has_opt(s, "noexec"),
        "{s}"
    );
    // Overlay: both layers visible; writes land in upper on the host; no upper → read-only.
    assert_eq!(t(&["cat", "/ovl/a"])["content"], "from lower1");
    assert_eq!(t(&["cat", "/ovl/b"])["content"], "from lower2");
    assert_eq!(errno_of(&t(&["try-write", "/ovl/c"])), "OK");
    assert!(
        upper.join("c").exists(),
        "overlay write must reach the upper dir"
    );
    assert!(!lower1.join("c").exists());
    assert_eq!(t(&["cat", "/ovl-ro/a"])["content"], "from lower1");
    assert_eq!(errno_of(&t(&["try-write", "/ovl-ro/c"])), "EROFS");
    // mqueue at its default target.
    assert_eq!(mount(&f, "/dev/mqueue")["fstype"], "mqueue");
}

#[test]
fn mount_types_as_root() {
    if need_root() || need_sandbox() {
        return;
    }
    mount_types_as(None, "types-root");
}

#[test]
fn mount_types_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(user) = need_user() else { return };
    mount_types_as(Some(user), "types-user");
}

/// Read-only root, masked paths, read-only paths, as root and rootless.
fn protections_as(user: Option<(u32, u32)>, tag: &str) {
    let dir = TempDir::new(tag);
    let body = base_body(
        r#"
[[mount]]
type = "dir"
target = "/var/data"
"#,
    )
    .replace(
        "hostname = \"probe-host\"",
        "hostname = \"probe-host\"\nread-only = true\nmasked-paths = [\"/usr/share\", \"/usr/bin/env\", \"/nonexistent\"]\nread-only-paths = [\"/tmp\"]",
    );
    let p = dir.profile("protect.toml", &body);
    let t = |args: &[&str]| try_json(&p, user, args);
    assert_eq!(errno_of(&t(&["try-write", "/newfile"])), "EROFS");
    assert_eq!(errno_of(&t(&["try-mkdir", "/var/data/x"])), "EROFS");
    assert_eq!(errno_of(&t(&["try-write", "/tmp/x"])), "EROFS");
    assert_eq!(t(&["cat", "/usr/bin/env"])["content"], "");
    let share = t(&["facts"]);
    let m = mount(&share, "/usr/share");
    assert!(m["fstype"] == "tmpfs" && has_opt(m, "ro"), "{m}");
    assert_eq!(errno_of(&t(&["try-write", "/usr/share/x"])), "EROFS");
    assert!(has_opt(mount(&share, "/"), "ro"));
    assert!(has_opt(mount(&share, "/tmp"), "ro"));
}

#[test]
fn protections_as_root() {
    if need_root() || need_sandbox() {
        return;
    }
    protections_as(None, "protect-root");
}

#[test]
fn protections_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(user) = need_user() else { return };
    protections_as(Some(user), "protect-user");
}

/// A symlink planted in a root filesystem must not send a mount outside it.
#[test]
fn mount_targets_cannot_escape_the_root() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("escape");
    let rootfs = dir.join("rootfs");
    let outside = dir.join("outside");
    std::fs::create_dir_all(&rootfs).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    // Absolute and `..` symlinks both pointing at a host directory.
    std::os::unix::fs::symlink(&outside, rootfs.join("abs")).expect("symlink");
    std::os::unix::fs::symlink(
        "../../../../../../..".to_string() + outside.to_str().unwrap_or(""),
        rootfs.join("rel"),
    )
    .expect("symlink");
    // Inside the root, both resolve to <rootfs>/<outside>: create it so resolution succeeds
    // there (a dangling link makes the step fail, which is also safe).
    let inside = rootfs.join(outside.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("mkdir");
    let body = format!(
        r#"
[namespaces]
user = true
mount = true

[filesystem]
root = "{root}"
{rt}
[[mount]]
type = "tmpfs"
target = "/abs/via-abs"

[[mount]]
type = "file"
target = "/rel/via-rel"
content = "x"
"#,
        root = rootfs.display(),
        rt = runtime_mounts(),
    );
    let p = dir.profile("escape.toml", &body);
    let out = TestCommand::run(&p, &[PROBE, "exit", "0"]).output();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !outside.join("via-abs").exists(),
        "a mount escaped through an absolute symlink"
    );
    assert!(
        !outside.join("via-rel").exists(),
        "a file escaped through a relative symlink"
    );
    // They were created inside the root filesystem instead.
    assert!(inside.join("via-abs").is_dir() && inside.join("via-rel").is_file());
}

/// The same in a tmpfs root, where missing targets are created first and attached by name:
/// a target whose ancestor, or which itself, is a symlink from a bind-mounted host tree
/// (pointing at a host path) is still resolved inside the root.
#[test]
fn mount_targets_cannot_escape_a_tmpfs_root() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("escape-tmpfs");
    let outside = dir.join("outside");
    let links = dir.join("links");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::create_dir_all(&links).expect("mkdir");
    let out_path = outside.display().to_string();
    std::os::unix::fs::symlink(&outside, links.join("abs")).expect("symlink");
    std::os::unix::fs::symlink(format!("../../../../../../..{out_path}"), links.join("rel"))
        .expect("symlink");
    let body = format!(
        r#"
[namespaces]
user = true
mount = true
pid = true

[filesystem]
root = "tmpfs"
{rt}
[[mount]]
type = "proc"

# The host path, re-created inside the root, so the symlinks below resolve there.
[[mount]]
type = "dir"
target = "{out}"

[[mount]]
type = "bind"
source = "{links}"
target = "/data"

# Through a symlinked ancestor, and onto a symlink itself.
[[mount]]
type = "tmpfs"
target = "/data/abs/via-abs"

[[mount]]
type = "tmpfs"
target = "/data/rel"
"#,
        rt = runtime_mounts(),
        out = out_path,
        links = links.display(),
    );
    let p = dir.profile("escape-tmpfs.toml", &body);
    let script = format!(
        "grep -q ' {out}/via-abs ' /proc/self/mountinfo && grep -q ' {out} ' /proc/self/mountinfo",
        out = out_path
    );
    let out = TestCommand::run(&p, &["/bin/sh", "-c", &script]).output();
    assert!(
        out.status.success(),
        "mounts not found inside the root: {}",
        stderr(&out)
    );
    let entries = std::fs::read_dir(&outside).expect("read_dir").count();
    assert_eq!(entries, 0, "a mount target escaped into the host directory");
}

/// Time namespace clock offsets reach the payload; cgroup namespace root is the sandbox.
#[test]
fn time_and_cgroup_namespaces() {
    if need_sandbox() {
        return;
    }
    let user = if is_root() { test_user() } else { None };
    let dir = TempDir::new("timens");
    let body = base_body("").replace(
        "net = true",
        "net = true\ncgroup = true\ntime = true\ntime-offsets = { monotonic = 8640000, boottime = 4320000 }",
    );
    let p = dir.profile("time.toml", &body);
    for u in [None, user] {
        if u.is_none() && !is_root() {
            continue;
        }
        let f = try_json(&p, u, &["facts"]);
        let host = host_namespaces();
        assert_ne!(f["namespaces"]["time"], host["time"]);
        assert_ne!(f["namespaces"]["cgroup"], host["cgroup"]);
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid out pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let mono = f["clock"]["monotonic"].as_f64().expect("monotonic");
        let boot = f["clock"]["boottime"].as_f64().expect("boottime");
        let host_mono = now.tv_sec as f64;
        assert!(
            mono >= host_mono + 8_640_000.0 - 60.0,
            "monotonic {mono} vs host {host_mono}"
        );
        assert!(
            boot - mono < -4_000_000.0,
            "boottime offset must differ: {boot} vs {mono}"
        );
        let cg = f["cgroup"].as_str().unwrap_or_default();
        assert!(cg.lines().any(|l| l == "0::/"), "cgroup ns root: {cg}");
    }
}

/// As root without a user namespace the payload is real root; with one, ids are mapped.
#[test]
fn root_without_user_namespace() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("nouserns");
    let p = dir.profile(
        "nouser.toml",
        &base_body("").replace("user = true\n", "user = false\n"),
    );
    let f = try_json(&p, None, &["facts"]);
    let host = host_namespaces();
    assert_eq!(f["namespaces"]["user"], host["user"]);
    assert_ne!(f["namespaces"]["mnt"], host["mnt"]);
    assert_eq!(f["uid"], serde_json::json!([0, 0, 0]));
    assert_eq!(f["uid_map"], serde_json::json!([[0, 0, 4294967295u64]]));
    assert_eq!(mount(&f, "/")["fstype"], "tmpfs");
}

/// Multi-range maps go through newuidmap/newgidmap for an unprivileged caller.
#[test]
fn multi_range_maps_via_newuidmap() {
    if need_sandbox() {
        return;
    }
    let Some((u, g)) = need_user() else { return };
    if !Path::new("/usr/bin/newuidmap").exists() {
        skip("newuidmap is not installed (package uidmap)");
        return;
    }
    let dir = TempDir::new("subid");
    let maps = format!(
        "uid-map = [{{ inside = 0, outside = {u} }}, {{ inside = 1, outside = {s}, count = {c} }}]\n\
         gid-map = [{{ inside = 0, outside = {g} }}, {{ inside = 1, outside = {s}, count = {c} }}]",
        s = SUBID_START,
        c = SUBID_COUNT
    );
    let p = dir.profile(
        "subid.toml",
        &base_body("").replace("net = true", &format!("net = true\n{maps}")),
    );
    let f = try_json(&p, Some((u, g)), &["facts"]);
    assert_eq!(
        f["uid_map"],
        serde_json::json!([[0, u, 1], [1, SUBID_START, SUBID_COUNT]])
    );
    assert_eq!(
        f["gid_map"],
        serde_json::json!([[0, g, 1], [1, SUBID_START, SUBID_COUNT]])
    );
}

/// A map that leaves the caller out (root's container idiom: inside 0 = host 200000) still
/// builds the sandbox: the child acts as the namespace's root before creating anything.
#[test]
fn map_without_the_caller_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    let dir = TempDir::new("unmapped");
    let maps = "uid-map = [{ inside = 0, outside = 200000, count = 65536 }]\n\
                gid-map = [{ inside = 0, outside = 200000, count = 65536 }]";
    let p = dir.profile(
        "unmapped.toml",
        &base_body("").replace("net = true", &format!("net = true\n{maps}")),
    );
    let f = try_json(&p, None, &["facts"]);
    assert_eq!(f["uid"], serde_json::json!([0, 0, 0]));
    assert_eq!(f["uid_map"], serde_json::json!([[0, 200000, 65536]]));
    assert_eq!(f["gid_map"], serde_json::json!([[0, 200000, 65536]]));
}

/// Inherited descriptors other than 0/1/2 never reach the payload.
#[test]
fn inherited_fds_are_closed() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("fds");
    let p = dir.profile("fds.toml", &base_body(""));
    let mut cmd = TestCommand::run(&p, &[PROBE, "facts"]);
    // Leak a pipe and an open file into stockade at fds 5 and 9, without CLOEXEC.
    let file = std::fs::File::open("/etc/hostname").expect("open");
    let mut pipe = [0; 2];
    // SAFETY: valid array.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    use std::os::fd::AsRawFd;
    let ffd = file.as_raw_fd();
    // SAFETY: dup2 in the pre-exec child only.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.command()
            .pre_exec(move || common::place_fds(&[(pipe[1], 5), (ffd, 9)]));
    }
    let f = ok_json(&cmd.output());
    // SAFETY: closing our pipe ends.
    unsafe {
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    let fds: Vec<u64> = f["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .filter_map(|d| d["fd"].as_u64())
        .collect();
    assert_eq!(fds, [0, 1, 2], "{:#}", f["fds"]);
}
