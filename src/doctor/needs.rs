//! What a compiled profile needs from the host, key by key, checked against the probed
//! host: the keys this host cannot enforce, and why.

use super::probe::HostReport;
use crate::plan::{Compat, MountOp, Plan, SeccompAction};
use serde::Serialize;

/// How a profile key fares on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Enforced as written.
    Ok,
    /// Runs, but enforces less (`compat = "best-effort"`), or may fail for a reason doctor
    /// cannot rule out.
    Degraded,
    /// The run would fail (exit 125) on this host.
    Fails,
}

/// One profile key's requirement and what the host makes of it.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    pub key: String,
    pub needs: String,
    pub verdict: Verdict,
    /// Why, when not `Ok`.
    pub reason: Option<String>,
    pub hint: Option<String>,
}

fn need(key: &str, needs: impl Into<String>) -> Need {
    Need {
        key: key.into(),
        needs: needs.into(),
        verdict: Verdict::Ok,
        reason: None,
        hint: None,
    }
}

impl Need {
    fn fail(mut self, verdict: Verdict, reason: impl Into<String>, hint: Option<&str>) -> Need {
        self.verdict = verdict;
        self.reason = Some(reason.into());
        self.hint = hint.map(str::to_string);
        self
    }
}

/// Every requirement of `plan` on `host`.
pub fn needs(plan: &Plan, host: &HostReport) -> Vec<Need> {
    let mut out = Vec::new();
    namespaces(plan, host, &mut out);
    if plan
        .mounts
        .iter()
        .any(|m| matches!(m.op, MountOp::Proc { .. }))
    {
        out.push(proc_mount(plan, host));
    }
    if plan.hostname.is_some() {
        out.push(hostname(plan, host));
    }
    if let Some(res) = &plan.resources {
        out.extend(resources(res, host));
    }
    if let Some(ll) = &plan.landlock {
        let n = need("landlock", format!("Landlock ABI {}", ll.abi));
        out.push(if host.landlock_abi >= ll.abi {
            n
        } else {
            let why = format!("the kernel offers Landlock ABI {}", host.landlock_abi);
            match ll.compat {
                Compat::Required => n.fail(
                    Verdict::Fails,
                    why,
                    Some("set `landlock.abi` to the host's ABI (dropping what needs more) or `landlock.compat = \"best-effort\"`"),
                ),
                Compat::BestEffort => n.fail(Verdict::Degraded, format!("{why}: the rights of later ABIs are not enforced"), None),
            }
        });
    }
    if let Some(sc) = &plan.seccomp {
        let mut actions: Vec<&str> = std::iter::once(&sc.default_action)
            .chain(sc.rules.iter().map(|r| &r.action))
            .map(action_name)
            .collect();
        if sc.log {
            actions.push("log");
        }
        actions.sort_unstable();
        actions.dedup();
        let n = need(
            "seccomp",
            format!("seccomp filter actions {}", actions.join(" ")),
        );
        let missing: Vec<&str> = actions
            .iter()
            .copied()
            .filter(|a| !host.seccomp_actions.iter().any(|h| h == a))
            .collect();
        out.push(if missing.is_empty() {
            n
        } else {
            n.fail(
                Verdict::Fails,
                format!("the kernel lacks seccomp action(s) {}", missing.join(" ")),
                Some("see /proc/sys/kernel/seccomp/actions_avail; use `errno` actions"),
            )
        });
    }
    out.extend(rlimits(plan));
    if plan.systemd.notify_socket.is_some() && !host.systemd.notify_socket {
        out.push(
            need("systemd.notify", "a NOTIFY_SOCKET from the service manager").fail(
                Verdict::Degraded,
                "NOTIFY_SOCKET is not set here (not run by a Type=notify unit)",
                None,
            ),
        );
    }
    out
}

fn action_name(a: &SeccompAction) -> &'static str {
    match a {
        SeccompAction::Allow => "allow",
        SeccompAction::Errno { .. } => "errno",
        SeccompAction::KillProcess => "kill_process",
        SeccompAction::KillThread => "kill_thread",
        SeccompAction::Trap => "trap",
        SeccompAction::Log => "log",
    }
}

const USERNS_HINT: &str = "unprivileged user namespaces are off: `sysctl kernel.unprivileged_userns_clone=1` (Debian), `user.max_user_namespaces` > 0, `kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu), or a container started with a seccomp profile that allows unshare(2)/clone(2) with CLONE_NEWUSER";

fn namespaces(plan: &Plan, host: &HostReport, out: &mut Vec<Need>) {
    let ns = &plan.namespaces;
    if ns.user {
        let n = need("namespaces.user", "a new user namespace");
        out.push(match &host.user_namespaces.probe.error {
            None => n,
            Some(e) => n.fail(Verdict::Fails, e.clone(), Some(USERNS_HINT)),
        });
    }
    for (key, helper_needed, map, helper, ranges) in [
        (
            "namespaces.uid-map",
            ns.uid_map_helper,
            &ns.uid_map,
            &host.id_helpers.newuidmap,
            &host.id_helpers.subuid,
        ),
        (
            "namespaces.gid-map",
            ns.gid_map_helper,
            &ns.gid_map,
            &host.id_helpers.newgidmap,
            &host.id_helpers.subgid,
        ),
    ] {
        if !helper_needed {
            continue;
        }
        let tool = if key.contains("uid") {
            "newuidmap"
        } else {
            "newgidmap"
        };
        let file = if key.contains("uid") {
            "/etc/subuid"
        } else {
            "/etc/subgid"
        };
        let n = need(
            key,
            format!(
                "{tool} and subordinate ids in {file} for a {}-range map",
                map.len()
            ),
        );
        out.push(if helper.is_none() {
            n.fail(Verdict::Fails, format!("{tool} is not installed"), Some("install the `uidmap` package, or map only your own id"))
        } else if !host.id_helpers.privileged {
            n.fail(Verdict::Fails, format!("{tool} is neither setuid root nor has file capabilities"), Some("reinstall the `uidmap` package"))
        } else if !covered(map, ranges, host.uid_or_gid(key)) {
            n.fail(
                Verdict::Fails,
                format!("the map is not within your own id and your ranges in {file} ({})", if ranges.is_empty() { "none".to_string() } else { ranges.join(", ") }),
                Some("ask the administrator for a range (`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER`)"),
            )
        } else {
            n
        });
    }
    if ns.time {
        let n = need("namespaces.time", "a new time namespace (Linux 5.6)");
        out.push(match &host.time_namespaces.error {
            None => n,
            Some(e) => n.fail(
                Verdict::Fails,
                e.clone(),
                Some("remove `namespaces.time` (and `time-offsets`)"),
            ),
        });
    }
    if ns.cgroup && !std::path::Path::new("/proc/self/ns/cgroup").exists() {
        out.push(
            need("namespaces.cgroup", "a cgroup namespace (Linux 4.6)").fail(
                Verdict::Fails,
                "the kernel has no cgroup namespaces",
                None,
            ),
        );
    }
}

/// Whether every range of `map` lies within `own` (one id) or one of `ranges` (`start:count`).
fn covered(map: &[crate::plan::IdMap], ranges: &[String], own: u32) -> bool {
    let parsed: Vec<(u64, u64)> = ranges
        .iter()
        .filter_map(|r| {
            let (s, c) = r.split_once(':')?;
            Some((s.parse().ok()?, c.parse().ok()?))
        })
        .collect();
    map.iter().all(|m| {
        let (lo, hi) = (
            u64::from(m.outside),
            u64::from(m.outside) + u64::from(m.count),
        );
        (m.count == 1 && m.outside == own) || parsed.iter().any(|&(s, c)| lo >= s && hi <= s + c)
    })
}

impl HostReport {
    fn uid_or_gid(&self, key: &str) -> u32 {
        if key.contains("uid") {
            self.uid
        } else {
            nix::unistd::getgid().as_raw()
        }
    }
}

fn proc_mount(plan: &Plan, host: &HostReport) -> Need {
    let n = need(
        "mount (type = \"proc\")",
        "a fresh proc mount in the sandbox's namespaces",
    );
    let Some(err) = &host.proc_mount.probe.error else {
        return n;
    };
    // Without a user namespace root mounts from the initial one, where the kernel does not
    // apply the "too revealing" check the probe ran into.
    if !plan.namespaces.user && host.uid == 0 {
        return n;
    }
    let masked = !host.proc_mount.overmounted.is_empty();
    let reason = if masked {
        format!(
            "{err}: /proc here has paths mounted over ({}), so the kernel refuses a new proc instance that would reveal them",
            host.proc_mount.overmounted.join(", ")
        )
    } else {
        err.clone()
    };
    let hint = if masked {
        "the container must leave /proc unmasked (podman/docker: `--security-opt unmask=/proc/*`, or `--privileged`), or bind the host's /proc instead (a `bind` of /proc; it shows the outer PID namespace)"
    } else if plan.namespaces.pid {
        "needs CAP_SYS_ADMIN over the PID namespace: check the user namespace probe above"
    } else {
        "without `namespaces.pid` a proc mount needs CAP_SYS_ADMIN over the host's PID namespace"
    };
    n.fail(Verdict::Fails, reason, Some(hint))
}

fn hostname(plan: &Plan, host: &HostReport) -> Need {
    let n = need(
        "filesystem.hostname",
        "sethostname(2) in the sandbox's UTS namespace",
    );
    let Some(err) = &host.hostname.error else {
        return n;
    };
    // Root without a user namespace names the UTS namespace from the initial one, which the
    // probe (run in a user namespace) does not model.
    if !plan.namespaces.user && host.uid == 0 {
        return n;
    }
    let hint = if host.nesting.seccomp_filtered {
        "an outer seccomp filter refuses sethostname(2) (podman's and docker's default profiles do, without CAP_SYS_ADMIN): run the container with `--security-opt seccomp=unconfined` or a seccomp profile that allows sethostname, or leave `filesystem.hostname` out of the profile"
    } else {
        "leave `filesystem.hostname` out of the profile, or check the user namespace probe above"
    };
    n.fail(Verdict::Fails, err.clone(), Some(hint))
}

fn resources(res: &crate::plan::ResourcePlan, host: &HostReport) -> Vec<Need> {
    use crate::cgroup::detect::LayoutKind;
    let layout = &host.cgroup;
    let missing = match (layout.kind, &layout.unified) {
        (LayoutKind::Unified, Some(info)) => crate::cgroup::v2::preflight(info, res).1,
        (LayoutKind::Hybrid | LayoutKind::Legacy, _) => {
            crate::cgroup::v1::preflight(&crate::cgroup::fs::HostFs, layout, res).1
        }
        _ => crate::cgroup::limits::requested(res)
            .into_iter()
            .map(|(key, _)| crate::cgroup::limits::NotEnforced {
                key,
                reason: "no cgroup filesystem is mounted".into(),
            })
            .collect(),
    };
    let help = (!missing.is_empty()).then(|| crate::cgroup::help_for(layout, &missing));
    crate::cgroup::limits::requested(res)
        .into_iter()
        .map(|(key, controller)| {
            let n = need(
                &format!("resources.{key}"),
                format!("the {controller} controller, delegated to you"),
            );
            match missing.iter().find(|m| m.key == key) {
                None => n,
                // Under best-effort the run goes ahead without the limit (listed in the
                // run report); the fix is the same either way.
                Some(m) => {
                    let verdict = if res.compat == Compat::BestEffort {
                        Verdict::Degraded
                    } else {
                        Verdict::Fails
                    };
                    n.fail(verdict, m.reason.clone(), help.as_deref())
                }
            }
        })
        .collect()
}

fn rlimits(plan: &Plan) -> Vec<Need> {
    plan.rlimits
        .iter()
        .map(|r| {
            let key = format!(
                "rlimits.{}",
                r.name.trim_start_matches("RLIMIT_").to_lowercase()
            );
            let n = need(&key, format!("a hard limit of at least {}", show(r.hard)));
            let mut cur = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit with a valid resource number and out pointer.
            let ok = unsafe { libc::getrlimit(r.resource as _, &mut cur) } == 0;
            let have = if cur.rlim_max == libc::RLIM_INFINITY {
                u64::MAX
            } else {
                cur.rlim_max
            };
            if !ok || r.hard <= have || has_sys_resource() {
                n
            } else {
                n.fail(
                    Verdict::Fails,
                    format!(
                        "your hard limit is {} and raising it needs CAP_SYS_RESOURCE",
                        show(have)
                    ),
                    Some("lower the value in the profile to at most the host's hard limit"),
                )
            }
        })
        .collect()
}

fn show(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

fn has_sys_resource() -> bool {
    caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false)
}
