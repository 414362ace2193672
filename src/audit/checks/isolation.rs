//! Namespaces, identity, mounts, network, terminal, cgroups and rlimits.

use super::{Raw, Subject};
use crate::plan::{MountOp, NetworkMode, RootKind};
use std::path::{Path, PathBuf};

/// Host paths that hand out more than files: runtime and agent sockets, the kernel's
/// knobs, boot files, root's home.
const SENSITIVE: &[&str] = &[
    "/run",
    "/var/run",
    "/sys",
    "/boot",
    "/root",
    "/proc",
    "/dev",
    "/var/lib/docker",
];

pub fn check(s: &Subject<'_>, out: &mut Vec<Raw>) {
    namespaces(s, out);
    mounts(s, out);
    network(s, out);
    terminal(s, out);
    limits(s, out);
}

fn namespaces(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let n = &s.plan.namespaces;
    let host_root = s.plan.process.uid == 0 && !n.user;
    if host_root {
        out.push(Raw::new(
            "STK-PRIV-002",
            "process.user",
            "uid 0 without a user namespace",
        ));
    }
    if !n.user {
        out.push(
            Raw::new("STK-NS-001", "namespaces.user", "namespaces.user is off")
                .moot_if(host_root.then_some("counted as STK-PRIV-002 (root on the host)")),
        );
    }
    for (on, id, key) in [
        (n.mount, "STK-NS-002", "namespaces.mount"),
        (n.pid, "STK-NS-003", "namespaces.pid"),
        (n.ipc, "STK-NS-004", "namespaces.ipc"),
        (n.uts, "STK-NS-005", "namespaces.uts"),
        (n.cgroup, "STK-NS-006", "namespaces.cgroup"),
    ] {
        if !on {
            out.push(Raw::new(id, key, format!("{key} is off")));
        }
    }
    if !s.plan.capabilities.no_new_privs {
        out.push(Raw::new(
            "STK-PRIV-001",
            "capabilities.no-new-privs",
            "no_new_privs is off",
        ));
    }
}

/// `a` is `b` or beneath it.
fn within(a: &Path, b: &Path) -> bool {
    a.starts_with(b)
}

/// Whether the payload can create device nodes (CAP_MKNOD in the initial user namespace).
fn can_mknod(s: &Subject<'_>) -> bool {
    let caps = &s.plan.capabilities;
    !s.plan.namespaces.user
        && (s.plan.process.uid == 0 || caps.keep.iter().any(|c| c.name == "CAP_MKNOD"))
}

fn mounts(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let plan = s.plan;
    if !plan.namespaces.mount {
        return;
    }
    // `mount[i]` of the merged profile is `plan.mounts[i]` (the compiler keeps every mount
    // in order or fails); fall back to the table when a future compiler adds its own.
    let declared = s.profile.mount.as_ref().map_or(0, Vec::len);
    let key_of = |i: usize| {
        if declared == plan.mounts.len() {
            format!("mount[{i}]")
        } else {
            "mount".to_owned()
        }
    };
    let mut sources: Vec<(String, PathBuf, bool)> = Vec::new();
    if let RootKind::Directory { path } = &plan.root.kind {
        sources.push(("filesystem.root".into(), path.clone(), !plan.root.read_only));
    }
    for (i, m) in plan.mounts.iter().enumerate() {
        match &m.op {
            MountOp::Bind { source, .. } => {
                sources.push((key_of(i), source.clone(), !m.flags.read_only));
                if !m.flags.read_only {
                    let what = format!("bind {} -> {}", source.display(), m.target.display());
                    if !m.flags.nosuid {
                        out.push(
                            Raw::new("STK-FS-003", key_of(i), what.clone()).moot_if(
                                plan.capabilities
                                    .no_new_privs
                                    .then_some("no_new_privs: setuid bits are ignored on exec"),
                            ),
                        );
                    }
                    if !m.flags.nodev {
                        out.push(Raw::new("STK-FS-004", key_of(i), what).moot_if(
                            (!can_mknod(s)).then_some("the payload cannot create device nodes"),
                        ));
                    }
                }
            }
            MountOp::Overlay { lower, upper, .. } => {
                for l in lower {
                    sources.push((key_of(i), l.clone(), false));
                }
                if let Some(u) = upper {
                    sources.push((key_of(i), u.clone(), !m.flags.read_only));
                }
            }
            _ => {}
        }
    }
    let root_exposed = sources.iter().any(|(_, p, _)| p == Path::new("/"));
    let root_moot = root_exposed.then_some("the host's / is exposed (STK-FS-001)");
    for (key, path, writable) in &sources {
        let shown = path.display();
        let is_root = path == Path::new("/");
        if is_root {
            out.push(Raw::new("STK-FS-001", key, format!("host {shown}")));
        } else if within(s.home, path) {
            // $HOME itself or a parent of it (a project directory beneath it is fine).
            out.push(
                Raw::new(
                    "STK-FS-002",
                    key,
                    format!("host {shown} (home {})", s.home.display()),
                )
                .moot_if(root_moot),
            );
        }
        // Beneath $HOME is the caller's own choice (`${HOME}/.cargo`), even when $HOME is
        // /root; $HOME itself is STK-FS-002.
        let in_home = within(path, s.home) && s.home != Path::new("/");
        let sensitive = SENSITIVE
            .iter()
            .filter(|_| !in_home)
            .find(|p| within(path, Path::new(p)) || !is_root && within(Path::new(p), path));
        if let Some(hit) = sensitive {
            out.push(
                Raw::new("STK-FS-005", key, format!("host {shown} ({hit})")).moot_if(root_moot),
            );
        }
        if *writable {
            out.push(Raw::new(
                "STK-FS-006",
                key,
                format!("host {shown} is writable"),
            ));
        }
    }
}

fn network(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let own_netns = s.plan.network == NetworkMode::None || s.plan.namespaces.net;
    // In proxy mode the namespace is still loopback only; what leaves goes through
    // stockade's proxy, which reaches only `network.allow` (checked below).
    let moot = match (&s.plan.egress, own_netns) {
        (_, false) => None,
        (Some(_), true) => Some("own network namespace: egress only through the proxy"),
        (None, true) => Some("own network namespace (loopback only)"),
    };
    if let Some(e) = &s.plan.egress {
        for (i, pattern) in e.allow.iter().enumerate().filter(|(_, p)| p.wildcard) {
            out.push(Raw::new(
                "STK-NET-005",
                format!("network.allow[{i}]"),
                format!("{pattern} admits every name below {}", pattern.name),
            ));
        }
    }
    if !own_netns {
        out.push(Raw::new(
            "STK-NET-001",
            "network.mode",
            "network.mode = \"host\"",
        ));
    }
    let landlock = super::filters::effective_landlock(s);
    let connect = landlock.as_ref().and_then(|l| l.connect_tcp.as_ref());
    let bind = landlock.as_ref().and_then(|l| l.bind_tcp.as_ref());
    match connect {
        None => out.push(
            Raw::new(
                "STK-NET-002",
                "landlock.connect-tcp",
                "TCP connect to any port",
            )
            .moot_if(moot),
        ),
        Some(ports) if ports.len() > 16 => out.push(
            Raw::new(
                "STK-NET-004",
                "landlock.connect-tcp",
                format!("{} ports allowed", ports.len()),
            )
            .moot_if(moot),
        ),
        Some(_) => {}
    }
    if bind.is_none() {
        out.push(
            Raw::new("STK-NET-003", "landlock.bind-tcp", "TCP bind on any port").moot_if(moot),
        );
    }
}

fn terminal(s: &Subject<'_>, out: &mut Vec<Raw>) {
    if s.plan.process.new_session {
        return;
    }
    let moot = if super::filters::seccomp_blocks_tiocsti(s.plan) {
        Some("the seccomp filter refuses ioctl(TIOCSTI)")
    } else if s.host.is_some_and(|h| h.tiocsti_disabled) {
        Some("this kernel refuses TIOCSTI (dev.tty.legacy_tiocsti = 0)")
    } else {
        None
    };
    out.push(
        Raw::new(
            "STK-TTY-001",
            "process.new-session",
            "process.new-session is off",
        )
        .moot_if(moot),
    );
}

fn limits(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let r = s.plan.resources.as_ref();
    if r.and_then(|r| r.pids_max).is_none() {
        out.push(Raw::new("STK-CG-001", "resources.pids", "no pids.max"));
    }
    if r.and_then(|r| r.memory_max).is_none() {
        out.push(Raw::new("STK-CG-002", "resources.memory", "no memory.max"));
    }
    let core_off = s
        .plan
        .rlimits
        .iter()
        .any(|l| l.name == "RLIMIT_CORE" && l.hard == 0);
    if !core_off {
        out.push(Raw::new(
            "STK-RL-001",
            "rlimits.core",
            "RLIMIT_CORE is not 0",
        ));
    }
}
