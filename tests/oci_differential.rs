//! Differential tests: the same profile run natively (`stockade run`) and from its exported
//! bundle under runc and crun must show the same facts to the probe program: namespaces,
//! hostname, ids, id maps, mounts and their flags, env, cwd, umask, capabilities,
//! no_new_privs, seccomp mode and a denial with its errno, rlimits, /dev, interfaces, session.
//!
//! Differences the OCI spec or the runtimes force are listed in [`FORCED`], each with its
//! reason; everything else must be equal.

mod oci_support;

use oci_support::facts::{
    cgroup_limits, find_descendant, normalize, without_dev, without_mounts, ENV_ADDED, FORCED,
    TIME_OFFSETS_IGNORED,
};
use oci_support::{skip, Runtime};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::oci::export_bundle;

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
