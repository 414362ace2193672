//! Differential tests: the same profile run natively (`stockade run`) and from its exported
//! bundle under runc and crun must show the same facts to the probe program: namespaces,
//! hostname, ids, id maps, mounts and their flags, env, cwd, umask, capabilities,
//! no_new_privs, seccomp mode and a denial with its errno, rlimits, /dev, interfaces, session.
//!
//! Differences the OCI spec or the runtimes force are listed in [`FORCED`], each with its
//! reason; everything else must be equal.

mod oci_support;

use oci_support::{skip, Runtime};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::oci::export_bundle;

/// Facts that legitimately differ, and why. Keys are the normalized fact names below;
/// `None` means every runtime, `Some(rt)` only that one.
const FORCED: &[(&str, Option<Runtime>, &str)] = &[
    (
        "setgroups",
        None,
        "stockade denies setgroups(2) in the user namespace (mandatory when unprivileged); \
         runc and crun, run as root, leave it allowed",
    ),
    (
        "cgroup",
        None,
        "each launcher names its own cgroup (stockade's leaf vs the runtime's container id)",
    ),
    (
        "domainname",
        Some(Runtime::Runc),
        "runc 1.1.5 ignores `domainname` (runc supports it from 1.2; crun sets it)",
    ),
];

/// Variables the runtimes add to the environment when the profile does not set them.
const ENV_ADDED: &[(&str, &str)] = &[(
    "HOME",
    "runc and crun set HOME (from the container's /etc/passwd, else `/`) when process.env \
     has none; stockade passes exactly the profile's environment",
)];

/// Runtimes that create the time namespace but do not apply `timeOffsets`.
const TIME_OFFSETS_IGNORED: &[(Runtime, &str)] = &[(
    Runtime::Crun,
    "crun 1.8.1 creates the time namespace but leaves its clocks at the host's values \
     (the export notes this; runc 1.1.5 refuses time namespaces altogether, see below)",
)];

/// `/dev` entries one runtime does not create.
const DEV_MISSING: &[(&str, Runtime, &str)] = &[(
    "core",
    Runtime::Runc,
    "runc links /dev/core to /proc/kcore only when /proc/kcore exists (not on this kernel); \
     stockade and crun always create the link",
)];

/// Mount entries whose flags in /proc/self/mountinfo differ while the behaviour is the
/// same (checked by the attempts in [`compare`]).
const MOUNT_FLAGS_FORCED: &[(&str, Runtime, &str)] = &[(
    "/etc/greeting",
    Runtime::Crun,
    "crun 1.8.1 makes a read-only path with a recursive bind whose copy of a submount loses \
     its flags (the file mount below the read-only /etc showed `rw`, without nosuid/nodev, \
     and was writable). The export lists such read-only submounts in readonlyPaths again, \
     which restores `ro` (checked by `try-write /etc/greeting` below); nosuid/nodev stay \
     lost under crun",
)];

/// Mounts whose filesystem type differs by construction: the tmpfs root becomes the
/// bundle's `rootfs` directory (on the bundle's filesystem), and what lives on the root
/// (a read-only path on it, a `file` mount, which becomes a bind of a bundle file) follows.
const ROOT_FS_TARGETS: &[&str] = &["/", "/etc", "/etc/greeting"];

/// Mounts compared by filesystem type and `ro` only: the runtimes apply their own
/// nosuid/nodev/noexec to masked paths (runc binds /dev/null read-write), read-only proc
/// paths (crun's remount drops them) and the host device nodes they bind (runc adds none).
/// Neither makes the path more reachable: masked paths stay masked, proc paths read-only,
/// and nodev/noexec/nosuid on a device node or /dev/null has no effect.
/// (Every `devtmpfs` entry is relaxed too: device nodes and the /dev/null binds that mask
/// files outside /proc.)
fn relaxed_target(t: &str) -> bool {
    // (Masked files are binds of /dev/null, read-write under runc: reads return nothing,
    // writes vanish; the `cat` attempt below checks that they are empty everywhere.)
    (t.starts_with("/proc/") && t != "/proc")
        || [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
        ]
        .contains(&t)
}

fn probe() -> Option<PathBuf> {
    option_env!("CARGO_BIN_EXE_stockade-probe").map(PathBuf::from)
}

/// A profile touching every element the export maps and the probe can see.
fn profile(probe_dir: &Path) -> String {
    format!(
        r#"
version = 1
description = "differential test"

[process]
cwd = "/work"
user = 1000
group = 1000
groups = [10, 1000]
umask = "027"
pid1 = "payload"
new-session = true

[env]
clear = true
set = {{ FOO = "bar baz", HOME = "/work", PATH = "/usr/bin" }}

[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true
cgroup = true
# runc needs the sandbox's root mapped; stockade's executor needs the caller (host root)
# mapped to create the tmpfs root's directories.
uid-map = [{{ inside = 0, outside = 0, count = 1 }}, {{ inside = 1, outside = 200001, count = 65535 }}]
gid-map = [{{ inside = 0, outside = 0, count = 1 }}, {{ inside = 1, outside = 200001, count = 65535 }}]

[network]
mode = "none"

[filesystem]
root = "tmpfs"
hostname = "diff"
domainname = "example.org"
read-only-paths = ["/etc"]

[[mount]]
type = "bind"
source = "/usr"
read-only = true

[[mount]]
type = "symlink"
source = "usr/lib"
target = "/lib"

[[mount]]
type = "symlink"
source = "usr/lib64"
target = "/lib64"

[[mount]]
type = "symlink"
source = "usr/bin"
target = "/bin"

[[mount]]
type = "bind"
source = "{probe}"
target = "/probe"
read-only = true

[[mount]]
type = "proc"

[[mount]]
type = "dev"

[[mount]]
type = "mqueue"

[[mount]]
type = "tmpfs"
target = "/tmp"
size = "16MiB"
mode = "1777"

# 0755, not 0750: stockade changes directory as the final user (uid 1000 could not enter a
# 0750 root-owned directory), runc and crun before switching user.
[[mount]]
type = "dir"
target = "/work"
mode = "0755"

[[mount]]
type = "file"
target = "/etc/greeting"
content = "hello\n"
mode = "0666"
read-only = true

[rlimits]
nofile = {{ soft = 64, hard = 128 }}
core = 0

[seccomp]
default-action = "allow"
rule = [{{ syscalls = ["mkdir", "mkdirat"], action = "errno:EXDEV" }}]

[resources]
memory = "64MiB"
pids = 32
cpu = 0.5

[capabilities]
keep = ["CAP_NET_BIND_SERVICE"]
ambient = ["CAP_NET_BIND_SERVICE"]
no-new-privs = true

[systemd]
notify = "off"
listen-fds = "off"
"#,
        probe = probe_dir.display()
    )
}

fn host_ns() -> Map<String, Value> {
    let mut m = Map::new();
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time"] {
        let l = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        m.insert(ns.into(), Value::String(l.to_string_lossy().into_owned()));
    }
    m
}

/// The facts that should be equal, in a comparable form.
fn normalize(f: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let host = host_ns();
    let mut ns = Map::new();
    for (name, host_link) in &host {
        let ino = &f["namespaces"][name];
        let host_ino: Option<u64> = host_link
            .as_str()
            .and_then(|s| s.split_once('['))
            .and_then(|(_, r)| r.trim_end_matches(']').parse().ok());
        let state = if ino.is_null() {
            "absent"
        } else if ino.as_u64() == host_ino {
            "host"
        } else {
            "new"
        };
        ns.insert(name.clone(), json!(state));
    }
    out.insert("namespaces".into(), Value::Object(ns));
    for key in [
        "uid",
        "gid",
        "uid_map",
        "gid_map",
        "hostname",
        "domainname",
        "env",
        "cwd",
        "umask",
        "rlimits",
        "pid",
        "setgroups",
        "cgroup",
    ] {
        out.insert(key.into(), f[key].clone());
    }
    let mut groups: Vec<u64> = f["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    groups.sort_unstable();
    out.insert("groups".into(), json!(groups));
    out.insert("session-leader".into(), json!(f["sid"] == f["pid"]));
    for k in [
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
        "Seccomp",
    ] {
        out.insert(format!("status.{k}"), f["status"][k].clone());
    }
    out.insert("dev".into(), f["dev"].clone());
    let ifaces: Map<String, Value> = f["interfaces"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["up"].clone()))
                .collect()
        })
        .unwrap_or_default();
    out.insert("interfaces".into(), Value::Object(ifaces));
    // Mounts: the visible (last mounted) entry per target, with its filesystem type and
    // per-mount flags; sources are runtime-specific names.
    let all: Vec<&Value> = f["mounts"].as_array().into_iter().flatten().collect();
    let mut top: std::collections::BTreeMap<String, String> = Default::default();
    for m in &all {
        let target = m["target"].as_str().unwrap_or("?").to_string();
        // The visible entry for a target is the one no other entry at the same target is
        // mounted on (mount ids do not follow stacking order).
        let covered = all
            .iter()
            .any(|o| o["target"] == m["target"] && o["parent"] == m["id"]);
        if covered {
            continue;
        }
        let relaxed = relaxed_target(&target) || m["fstype"] == "devtmpfs";
        let mut flags: Vec<&str> = m["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|o| match relaxed {
                true => *o == "ro" && m["fstype"] != "devtmpfs",
                false => matches!(*o, "ro" | "rw" | "nosuid" | "nodev" | "noexec"),
            })
            .collect();
        flags.sort_unstable();
        let fstype = if ROOT_FS_TARGETS.contains(&target.as_str()) {
            "(root fs)"
        } else {
            m["fstype"].as_str().unwrap_or("?")
        };
        top.insert(target, format!("{fstype} {}", flags.join(",")));
    }
    let mounts: Vec<String> = top.into_iter().map(|(t, v)| format!("{t} {v}")).collect();
    out.insert("mounts".into(), json!(mounts));
    out
}

fn without_mounts(v: &Value, rt: Runtime) -> Value {
    let keep = |m: &&Value| {
        let t = m.as_str().unwrap_or("");
        !MOUNT_FLAGS_FORCED
            .iter()
            .any(|(target, only, _)| *only == rt && t.starts_with(&format!("{target} ")))
    };
    Value::Array(
        v.as_array()
            .into_iter()
            .flatten()
            .filter(keep)
            .cloned()
            .collect(),
    )
}

fn without_dev(v: &Value, rt: Runtime) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for (name, only, _) in DEV_MISSING {
            if *only == rt {
                m.remove(*name);
            }
        }
    }
    v
}

fn first_json(stdout: &str, what: &str, stderr: &str) -> Value {
    stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!("{what}: no JSON from the probe\nstdout: {stdout}\nstderr: {stderr}")
        })
}

fn native(profile: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .arg("run")
        .arg(profile)
        .arg("--")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run stockade");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    first_json(&stdout, "stockade run", &stderr)
}

fn oci(rt: Runtime, profile: &Path, args: &[&str], tag: &str) -> Value {
    let (stdout, stderr) = oci_output(rt, profile, args, tag);
    first_json(&stdout, rt.name(), &stderr)
}

/// Export `profile` with `args` as the command and run the bundle; (stdout, stderr).
fn oci_output(rt: Runtime, profile: &Path, args: &[&str], tag: &str) -> (String, String) {
    let loaded = stockade::profile::load::load(profile.to_str().unwrap()).expect("load");
    let opts = CompileOptions {
        command: Some(args.iter().map(|s| s.to_string()).collect()),
        command_optional: false,
    };
    let plan = compile(&loaded, &HostFacts::probe(), &opts)
        .unwrap_or_else(|d| panic!("{d}"))
        .plan;
    let bundle = std::env::temp_dir().join(format!(
        "stockade-oci-diff-{}-{tag}-{}",
        rt.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&bundle);
    export_bundle(&plan, &bundle, false).expect("export");
    let id = format!("stockade-diff-{}-{tag}-{}", rt.name(), std::process::id());
    let (_, stdout, stderr) = rt.run(&bundle, &id);
    let _ = std::fs::remove_dir_all(&bundle);
    (stdout, stderr)
}

/// Facts and attempts of `profile_path`, natively and under `rt`; the differences found.
/// `name` keeps the bundles and container ids of tests running in parallel apart.
fn differences(
    rt: Runtime,
    name: &str,
    profile_path: &Path,
    attempts: &[(&[&str], &str)],
) -> Vec<String> {
    let probe_in = "/probe/stockade-probe";
    let mut failures = Vec::new();
    let a = normalize(&native(profile_path, &[probe_in, "facts"]));
    let b = normalize(&oci(
        rt,
        profile_path,
        &[probe_in, "facts"],
        &format!("{name}-facts"),
    ));
    for (k, va) in &a {
        let vb = &b[k];
        let forced = FORCED
            .iter()
            .any(|(f, only, _)| f == k && only.is_none_or(|o| o == rt));
        let (va, vb) = match k.as_str() {
            "dev" => (without_dev(va, rt), without_dev(vb, rt)),
            "mounts" => (without_mounts(va, rt), without_mounts(vb, rt)),
            "env" => {
                let mut vb = vb.clone();
                for (name, _) in ENV_ADDED {
                    if va.get(name).is_none() {
                        if let Some(m) = vb.as_object_mut() {
                            m.remove(*name);
                        }
                    }
                }
                (va.clone(), vb)
            }
            _ => (va.clone(), vb.clone()),
        };
        if va != vb && !forced {
            failures.push(format!("{k}:\n  stockade: {va}\n  {}: {vb}", rt.name()));
        }
    }
    for (i, (args, expect)) in attempts.iter().enumerate() {
        let mut argv = vec![probe_in];
        argv.extend_from_slice(args);
        let da = native(profile_path, &argv);
        let db = oci(rt, profile_path, &argv, &format!("{name}-try{i}"));
        if !expect.is_empty() {
            assert_eq!(da["errno"], *expect, "stockade {args:?}: {da}");
        }
        if da != db {
            failures.push(format!(
                "{args:?}:\n  stockade: {da}\n  {}: {db}",
                rt.name()
            ));
        }
    }
    failures
}

/// Skip unless the probe is built and `rt` can run; the probe's path.
fn ready(rt: Runtime) -> Option<PathBuf> {
    let Some(probe) = probe() else {
        skip("the probe program (src/bin/stockade-probe) is not built in this tree");
        return None;
    };
    if let Err(reason) = rt.available() {
        skip(&reason);
        return None;
    }
    Some(probe)
}

fn compare(rt: Runtime) {
    let Some(probe) = ready(rt) else {
        return;
    };
    let dir = oci_support::TempDir::new(&format!("diff-{}", rt.name()));
    let profile_path = dir.join("diff.toml");
    std::fs::write(&profile_path, profile(probe.parent().unwrap())).unwrap();
    let probe_in = "/probe/stockade-probe";
    // Attempts and their outcome: a seccomp denial with its errno, writes to a read-only
    // file mount below a read-only path, to a read-only path, to a read-only proc path, and
    // reads of a bundle file and a masked proc file.
    let attempts: [(&[&str], &str); 6] = [
        (&["try-mkdir", "/tmp/denied"], "EXDEV"),
        (&["try-write", "/etc/greeting"], "EROFS"),
        (&["try-write", "/etc/new"], ""),
        (&["try-write", "/proc/sys/kernel/hostname"], ""),
        (&["cat", "/etc/greeting"], ""),
        (&["cat", "/proc/keys"], ""),
    ];
    let mut failures = differences(rt, "main", &profile_path, &attempts);
    // cgroup limits, read from the host while the payload runs.
    let la = limits_native(&profile_path, probe_in);
    let lb = limits_oci(rt, &profile_path, probe_in);
    let memory = la
        .get("memory.limit_in_bytes")
        .or_else(|| la.get("memory.max"));
    assert_eq!(memory, Some(&json!("67108864")), "stockade limits: {la}");
    if la != lb {
        failures.push(format!(
            "cgroup limits:\n  stockade: {la}\n  {}: {lb}",
            rt.name()
        ));
    }
    drop(dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The limits of the cgroups `pid` is in, read from the host (cgroup v1 controllers, as on
/// this machine, or the v2 unified hierarchy).
fn cgroup_limits(pid: u32) -> Value {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let mut out = Map::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        let read = |dir: &str, file: &str| {
            std::fs::read_to_string(format!("/sys/fs/cgroup/{dir}{path}/{file}"))
                .ok()
                .map(|s| s.trim().to_string())
        };
        for ctrl in ctrls.split(',') {
            let files: &[&str] = match ctrl {
                "memory" => &["memory.limit_in_bytes"],
                "pids" => &["pids.max"],
                "cpu" => &["cpu.cfs_quota_us", "cpu.cfs_period_us"],
                "" => &["memory.max", "pids.max", "cpu.max"],
                _ => &[],
            };
            let dir = if ctrl.is_empty() { "unified" } else { ctrl };
            for f in files {
                if let Some(v) = read(dir, f) {
                    out.insert((*f).into(), json!(v));
                }
            }
        }
    }
    Value::Object(out)
}

/// Wait (bounded) for a process below `root` whose argv[0] ends with `needle`.
fn find_descendant(root: u32, needle: &str) -> Option<u32> {
    for _ in 0..200 {
        let mut stack = vec![root];
        while let Some(p) = stack.pop() {
            // argv[0], not the whole command line: before its execve the sandbox's first
            // process still carries stockade's own arguments, which name the probe too.
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let argv0 = cmd.split(|b| *b == 0).next().unwrap_or_default();
            if p != root && String::from_utf8_lossy(argv0).ends_with(needle) {
                return Some(p);
            }
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
                for t in tasks.flatten() {
                    let kids =
                        std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                    stack.extend(
                        kids.split_whitespace()
                            .filter_map(|k| k.parse::<u32>().ok()),
                    );
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

/// The cgroup limits a sandbox really got: the payload sleeps while the host reads them.
fn limits_native(profile: &Path, probe_in: &str) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stockade"))
        .arg("run")
        .arg(profile)
        .args(["--", probe_in, "sleep", "5"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run stockade");
    let limits = find_descendant(child.id(), "stockade-probe").map(cgroup_limits);
    let _ = child.wait();
    limits.unwrap_or(Value::Null)
}

fn limits_oci(rt: Runtime, profile: &Path, probe_in: &str) -> Value {
    let args = [probe_in, "sleep", "5"];
    let bundle_tag = "limits";
    let handle = {
        let profile = profile.to_path_buf();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        std::thread::spawn(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            oci_output(rt, &profile, &a, bundle_tag)
        })
    };
    let id = format!(
        "stockade-diff-{}-{bundle_tag}-{}",
        rt.name(),
        std::process::id()
    );
    let mut limits = Value::Null;
    for _ in 0..200 {
        let out = Command::new(rt.name()).args(["state", &id]).output();
        let state: Option<Value> = out
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok());
        if let Some(pid) = state
            .as_ref()
            .and_then(|s| s["pid"].as_u64())
            .filter(|p| *p > 0)
        {
            limits = cgroup_limits(pid as u32);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = handle.join();
    limits
}

#[test]
fn runc_shows_the_same_facts_as_stockade_run() {
    compare(Runtime::Runc);
}

#[test]
fn crun_shows_the_same_facts_as_stockade_run() {
    compare(Runtime::Crun);
}

/// The elements the first profile does not cover: a host directory as a read-only root, an
/// overlay, a masked path, seccomp argument conditions, and (crun only, see below) a time
/// namespace with clock offsets.
fn extras_profile(probe_dir: &Path, root: &Path, lower: &Path, time: bool) -> String {
    let time_lines = if time {
        "time = true\ntime-offsets = { monotonic = 3600, boottime = 8640000 }\n"
    } else {
        ""
    };
    format!(
        r#"
version = 1

[process]
cwd = "/"
user = 0
group = 0
pid1 = "payload"

[env]
clear = true
set = {{ PATH = "/usr/bin" }}

[namespaces]
user = true
mount = true
pid = true
{time_lines}uid-map = [{{ inside = 0, outside = 0, count = 1 }}, {{ inside = 1, outside = 200001, count = 65535 }}]
gid-map = [{{ inside = 0, outside = 0, count = 1 }}, {{ inside = 1, outside = 200001, count = 65535 }}]

[network]
mode = "host"

[filesystem]
root = "{root}"
read-only = true
masked-paths = ["/etc/secret"]

[[mount]]
type = "bind"
source = "/usr"
read-only = true

[[mount]]
type = "bind"
source = "{probe}"
target = "/probe"
read-only = true

[[mount]]
type = "proc"

[[mount]]
type = "dev"

[[mount]]
type = "tmpfs"
target = "/tmp"

[[mount]]
type = "overlay"
target = "/opt/data"
# Without an upper directory overlayfs needs two lower layers.
lower = ["{lower}", "{lower}2"]
read-only = true

[seccomp]
default-action = "allow"
rule = [
  {{ syscalls = ["mkdir"], action = "errno:EXDEV", args = [{{ index = 1, op = "eq", value = 0o777 }}] }},
  {{ syscalls = ["mkdirat"], action = "errno:EXDEV", args = [{{ index = 2, op = "eq", value = 0o777 }}] }},
]

[capabilities]
keep = []
no-new-privs = true

[systemd]
notify = "off"
listen-fds = "off"
"#,
        root = root.display(),
        lower = lower.display(),
        probe = probe_dir.display()
    )
}

/// A root filesystem directory: mount points, the merged-/usr links, a secret to mask.
fn make_root(dir: &oci_support::TempDir) -> (PathBuf, PathBuf) {
    let root = dir.join("root");
    for d in ["usr", "probe", "proc", "dev", "tmp", "opt/data", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (link, to) in [
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("bin", "usr/bin"),
    ] {
        std::os::unix::fs::symlink(to, root.join(link)).unwrap();
    }
    std::fs::write(root.join("etc/secret"), "top secret\n").unwrap();
    let lower = dir.join("lower");
    std::fs::create_dir_all(&lower).unwrap();
    std::fs::write(lower.join("hello"), "from the lower layer\n").unwrap();
    std::fs::create_dir_all(dir.join("lower2")).unwrap();
    std::fs::write(dir.join("lower2/below"), "from the second layer\n").unwrap();
    (root, lower)
}

fn compare_extras(rt: Runtime, time: bool) {
    let Some(probe) = ready(rt) else {
        return;
    };
    let dir = oci_support::TempDir::new(&format!("extras-{}", rt.name()));
    let (root, lower) = make_root(&dir);
    let profile_path = dir.join("extras.toml");
    let text = extras_profile(probe.parent().unwrap(), &root, &lower, time);
    std::fs::write(&profile_path, text).unwrap();
    let attempts: [(&[&str], &str); 6] = [
        // Matches the argument condition (std creates directories with mode 0777).
        (&["try-mkdir", "/tmp/denied"], "EXDEV"),
        (&["cat", "/opt/data/hello"], ""),
        (&["cat", "/opt/data/below"], ""),
        (&["try-write", "/opt/data/new"], "EROFS"),
        (&["try-write", "/new-in-root"], "EROFS"),
        (&["cat", "/etc/secret"], ""),
    ];
    let mut failures = differences(rt, "extras", &profile_path, &attempts);
    let masked = native(
        &profile_path,
        &["/probe/stockade-probe", "cat", "/etc/secret"],
    );
    assert!(!masked.to_string().contains("top secret"), "{masked}");
    if time {
        // The clocks are read at different moments; what matters is the offset (100 days of
        // boottime), far above this host's uptime and the time between the runs.
        let args = ["/probe/stockade-probe", "facts"];
        for (who, f) in [
            ("stockade", native(&profile_path, &args)),
            (rt.name(), oci(rt, &profile_path, &args, "extras-clock")),
        ] {
            let boottime = f["clock"]["boottime"].as_f64().unwrap_or(0.0);
            let ignored = who == rt.name() && TIME_OFFSETS_IGNORED.iter().any(|(r, _)| *r == rt);
            if ignored {
                // Known runtime limitation: make sure it is still there, so this entry goes
                // when a fixed runtime arrives.
                assert!(boottime < 8_640_000.0, "{who} now applies time offsets");
            } else if boottime < 8_640_000.0 {
                failures.push(format!("{who}: boottime {boottime} lacks the offset"));
            }
        }
    }
    drop(dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crun_shows_the_same_facts_for_root_dir_overlay_masks_seccomp_args_and_time() {
    compare_extras(Runtime::Crun, true);
}

/// runc 1.1.5 has no time namespace (added in runc 1.2): the same profile without it, and a
/// check that runc refuses a bundle that asks for one instead of running without it.
#[test]
fn runc_shows_the_same_facts_for_root_dir_overlay_masks_seccomp_args() {
    compare_extras(Runtime::Runc, false);
    let Some(probe) = ready(Runtime::Runc) else {
        return;
    };
    let dir = oci_support::TempDir::new("extras-runc-time");
    let (root, lower) = make_root(&dir);
    let profile_path = dir.join("time.toml");
    std::fs::write(
        &profile_path,
        extras_profile(probe.parent().unwrap(), &root, &lower, true),
    )
    .unwrap();
    let (stdout, stderr) = oci_output(
        Runtime::Runc,
        &profile_path,
        &["/probe/stockade-probe", "exit", "0"],
        "time",
    );
    assert!(
        stderr.contains("time"),
        "runc should refuse the time namespace:\nstdout: {stdout}\nstderr: {stderr}"
    );
}
