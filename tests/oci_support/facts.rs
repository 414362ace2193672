//! Probe facts for the differential tests: the forced differences between `stockade run`
//! and the OCI runtimes (each with its reason), the normalization that makes facts
//! comparable, and the cgroup limits read from the host.

use super::Runtime;
use serde_json::{json, Map, Value};

/// Facts that legitimately differ, and why. Keys are the normalized fact names below;
/// `None` means every runtime, `Some(rt)` only that one.
pub const FORCED: &[(&str, Option<Runtime>, &str)] = &[
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
pub const ENV_ADDED: &[(&str, &str)] = &[(
    "HOME",
    "runc and crun set HOME (from the container's /etc/passwd, else `/`) when process.env \
     has none; stockade passes exactly the profile's environment",
)];

/// Runtimes that create the time namespace but do not apply `timeOffsets`.
pub const TIME_OFFSETS_IGNORED: &[(Runtime, &str)] = &[(
    Runtime::Crun,
    "crun 1.8.1 creates the time namespace but leaves its clocks at the host's values \
     (the export notes this; runc 1.1.5 refuses time namespaces altogether, see below)",
)];

/// `/dev` entries one runtime does not create.
pub const DEV_MISSING: &[(&str, Runtime, &str)] = &[(
    "core",
    Runtime::Runc,
    "runc links /dev/core to /proc/kcore only when /proc/kcore exists (not on this kernel); \
     stockade and crun always create the link",
)];

/// Mount entries whose flags in /proc/self/mountinfo differ while the behaviour is the
/// same (checked by the attempts of the differential tests).
pub const MOUNT_FLAGS_FORCED: &[(&str, Runtime, &str)] = &[(
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
pub const ROOT_FS_TARGETS: &[&str] = &["/", "/etc", "/etc/greeting"];

/// Mounts compared by filesystem type and `ro` only: the runtimes apply their own
/// nosuid/nodev/noexec to masked paths (runc binds /dev/null read-write), read-only proc
/// paths (crun's remount drops them) and the host device nodes they bind (runc adds none).
/// Neither makes the path more reachable: masked paths stay masked, proc paths read-only,
/// and nodev/noexec/nosuid on a device node or /dev/null has no effect.
/// (Every `devtmpfs` entry is relaxed too: device nodes and the /dev/null binds that mask
/// files outside /proc.)
pub fn relaxed_target(t: &str) -> bool {
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

pub fn host_ns() -> Map<String, Value> {
    let mut m = Map::new();
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time"] {
        let l = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        m.insert(ns.into(), Value::String(l.to_string_lossy().into_owned()));
    }
    m
}

/// The facts that should be equal, in a comparable form.
pub fn normalize(f: &Value) -> Map<String, Value> {
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

pub fn without_mounts(v: &Value, rt: Runtime) -> Value {
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

pub fn without_dev(v: &Value, rt: Runtime) -> Value {
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

/// The limits of the cgroups `pid` is in, read from the host (cgroup v1 controllers, as on
/// this machine, or the v2 unified hierarchy).
pub fn cgroup_limits(pid: u32) -> Value {
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
pub fn find_descendant(root: u32, needle: &str) -> Option<u32> {
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
