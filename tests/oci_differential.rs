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

/// Facts that legitimately differ, and why. Keys are the normalized fact names below.
const FORCED: &[(&str, &str)] = &[
    (
        "setgroups",
        "stockade denies setgroups(2) in the user namespace (mandatory when unprivileged); \
         runc and crun, run as root, leave it allowed",
    ),
    (
        "cgroup",
        "each launcher names its own cgroup (stockade's leaf vs the runtime's container id)",
    ),
];

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
uid-map = [{{ inside = 0, outside = 200000, count = 65536 }}]
gid-map = [{{ inside = 0, outside = 200000, count = 65536 }}]

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

[[mount]]
type = "dir"
target = "/work"
mode = "0750"

[[mount]]
type = "file"
target = "/etc/greeting"
content = "hello\n"
read-only = true

[rlimits]
nofile = {{ soft = 64, hard = 128 }}
core = 0

[seccomp]
default-action = "allow"
rule = [{{ syscalls = ["mkdir", "mkdirat"], action = "errno:EXDEV" }}]

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
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"] {
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
    // Mounts: target, filesystem type and the per-mount flags, as a sorted list (runtimes
    // may order the /dev submounts differently; sources are runtime-specific names).
    let mut mounts: Vec<String> = f["mounts"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    let mut flags: Vec<&str> = m["options"]
                        .as_array()
                        .map(|o| {
                            o.iter()
                                .filter_map(Value::as_str)
                                .filter(|o| {
                                    matches!(*o, "ro" | "rw" | "nosuid" | "nodev" | "noexec")
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    flags.sort_unstable();
                    format!(
                        "{} {} {}",
                        m["target"].as_str().unwrap_or("?"),
                        m["fstype"].as_str().unwrap_or("?"),
                        flags.join(",")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    mounts.sort();
    mounts.dedup();
    out.insert("mounts".into(), json!(mounts));
    out
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
    first_json(&stdout, rt.name(), &stderr)
}

fn compare(rt: Runtime) {
    let Some(probe) = probe() else {
        return skip("the probe program (src/bin/stockade-probe) is not built in this tree");
    };
    if let Err(reason) = rt.available() {
        return skip(&reason);
    }
    let dir = std::env::temp_dir().join(format!(
        "stockade-oci-diff-{}-{}",
        rt.name(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let profile_path = dir.join("diff.toml");
    std::fs::write(&profile_path, profile(probe.parent().unwrap())).unwrap();
    let probe_in = "/probe/stockade-probe";

    let mut failures = Vec::new();
    let a = normalize(&native(&profile_path, &[probe_in, "facts"]));
    let b = normalize(&oci(rt, &profile_path, &[probe_in, "facts"], "facts"));
    for (k, va) in &a {
        let vb = &b[k];
        if va != vb && !FORCED.iter().any(|(f, _)| f == k) {
            failures.push(format!("{k}:\n  stockade: {va}\n  {}: {vb}", rt.name()));
        }
    }
    // A seccomp denial and its errno.
    let args = [probe_in, "try-mkdir", "/tmp/denied"];
    let da = native(&profile_path, &args);
    let db = oci(rt, &profile_path, &args, "seccomp");
    assert_eq!(da["errno"], "EXDEV", "stockade: {da}");
    if da["errno"] != db["errno"] || da["ok"] != db["ok"] {
        failures.push(format!(
            "seccomp denial:\n  stockade: {da}\n  {}: {db}",
            rt.name()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn runc_shows_the_same_facts_as_stockade_run() {
    compare(Runtime::Runc);
}

#[test]
fn crun_shows_the_same_facts_as_stockade_run() {
    compare(Runtime::Crun);
}
