//! The text form of doctor's report: one line per fact, `ok`/`no`/`--` first so a reader
//! scans the left column.

use super::needs::Verdict;
use super::probe::{HostReport, Probe};
use super::ProfileReport;
use std::fmt::Write;

fn mark(ok: bool) -> &'static str {
    if ok {
        "ok  "
    } else {
        "no  "
    }
}

fn probe_line(out: &mut String, what: &str, p: &Probe) {
    let _ = writeln!(
        out,
        "  {}{what}{}",
        mark(p.works),
        p.error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("absent")
}

pub fn text(h: &HostReport, profiles: &[ProfileReport]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "host: Linux {}, uid {} ({})", h.kernel, h.uid, h.user);
    let u = &h.user_namespaces;
    probe_line(&mut o, "user namespaces", &u.probe);
    let _ = writeln!(
        o,
        "        kernel.unprivileged_userns_clone={} user.max_user_namespaces={} kernel.apparmor_restrict_unprivileged_userns={}",
        opt(&u.unprivileged_userns_clone),
        opt(&u.max_user_namespaces),
        opt(&u.apparmor_restrict_unprivileged_userns)
    );
    let idh = &h.id_helpers;
    let helpers = idh.newuidmap.is_some() && idh.newgidmap.is_some() && idh.privileged;
    let _ = writeln!(
        o,
        "  {}newuidmap/newgidmap{}; subordinate ids: uid {}, gid {}",
        mark(helpers),
        match (&idh.newuidmap, idh.privileged) {
            (None, _) => " not installed (package uidmap)".to_string(),
            (Some(p), true) => format!(" {p}"),
            (Some(p), false) => format!(" {p} (not setuid, no file capabilities)"),
        },
        list(&idh.subuid),
        list(&idh.subgid)
    );
    // "ok" when stockade can create cgroups here (some hierarchy is delegated or root's).
    let cg_ok = h
        .cgroup
        .unified
        .as_ref()
        .is_some_and(|u| u.writable && h.cgroup.version() == Some(2))
        || h.cgroup.v1.iter().any(|v| v.writable);
    let _ = writeln!(o, "  {}{}", mark(cg_ok), h.cgroup_summary);
    let _ = writeln!(
        o,
        "  {}Landlock ABI {}",
        mark(h.landlock_abi > 0),
        h.landlock_abi
    );
    let _ = writeln!(
        o,
        "  {}seccomp actions: {}",
        mark(!h.seccomp_actions.is_empty()),
        if h.seccomp_actions.is_empty() {
            "none (no /proc/sys/kernel/seccomp/actions_avail)".to_string()
        } else {
            h.seccomp_actions.join(" ")
        }
    );
    probe_line(&mut o, "time namespaces", &h.time_namespaces);
    probe_line(&mut o, "fresh proc mount", &h.proc_mount.probe);
    if !h.proc_mount.overmounted.is_empty() {
        let _ = writeln!(
            o,
            "        /proc is masked (mounts over {}): a container must run with `--security-opt unmask=/proc/*` for sandboxes with their own /proc",
            h.proc_mount.overmounted.join(", ")
        );
    }
    probe_line(&mut o, "hostname in a new UTS namespace", &h.hostname);
    let s = &h.systemd;
    let _ = writeln!(
        o,
        "  {}systemd: {}{}{}",
        mark(s.pid1),
        if s.pid1 { "PID 1" } else { "not PID 1" },
        s.version
            .as_deref()
            .map(|v| format!(", version {v}"))
            .unwrap_or_default(),
        if s.notify_socket {
            ", NOTIFY_SOCKET set"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "  {}pasta{}",
        mark(h.pasta.is_some()),
        h.pasta
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_else(|| " not installed (package passt)".into())
    );
    let n = &h.nesting;
    let mut where_ = Vec::new();
    if n.stockade {
        where_.push("inside a stockade sandbox".to_string());
    }
    if let Some(c) = &n.container {
        where_.push(format!("inside a container ({c})"));
    }
    if n.user_namespace {
        where_.push(format!("in a user namespace (uid_map {})", n.uid_map));
    }
    if n.seccomp_filtered {
        where_.push("under a seccomp filter".into());
    }
    if n.no_new_privs {
        where_.push("no_new_privs set".into());
    }
    let _ = writeln!(
        o,
        "  --  nesting: {}; CapEff {}",
        if where_.is_empty() {
            "not nested".to_string()
        } else {
            where_.join(", ")
        },
        n.cap_eff
    );
    for p in profiles {
        let _ = writeln!(o, "\nprofile {}:", p.profile);
        if let Some(e) = &p.error {
            let _ = writeln!(o, "  no  {e}");
            continue;
        }
        if p.needs.is_empty() {
            let _ = writeln!(o, "  ok  needs nothing special from the host");
        }
        for need in &p.needs {
            let tag = match need.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Degraded => "less",
                Verdict::Fails => "FAIL",
            };
            let _ = writeln!(o, "  {tag} {}: {}", need.key, need.needs);
            if let Some(r) = &need.reason {
                let _ = writeln!(o, "         why: {r}");
            }
            if let Some(hint) = &need.hint {
                let _ = writeln!(o, "         fix: {hint}");
            }
        }
        let fails = p
            .needs
            .iter()
            .filter(|n| n.verdict == Verdict::Fails)
            .count();
        let _ = writeln!(
            o,
            "  => {}",
            if fails == 0 {
                "runs on this host".to_string()
            } else {
                format!("{fails} key(s) cannot be enforced on this host")
            }
        );
    }
    o
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}
