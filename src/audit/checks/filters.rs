//! seccomp, Landlock and capabilities.

use super::{Raw, Subject};
use crate::plan::{Compat, LandlockPlan, NetworkMode, Plan, SeccompAction, SeccompOp};
use std::path::Path;

/// Capabilities that are root in all but name.
const DANGEROUS_CAPS: &[&str] = &[
    "CAP_BPF",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_PERFMON",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_MODULE",
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_TIME",
];

const TIOCSTI: u64 = 0x5412;

pub fn check(s: &Subject<'_>, out: &mut Vec<Raw>) {
    seccomp(s.plan, out);
    landlock(s, out);
    capabilities(s.plan, out);
}

/// How the filter treats one syscall.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Allowed,
    /// Refused always, or for some argument values.
    Restricted,
}

/// The filter's verdict on `name`: the last unconditional rule for it decides (a later
/// rule for the same call replaces an earlier one); otherwise a conditional refusal
/// restricts it; otherwise the default action does.
fn verdict(plan: &Plan, name: &str) -> Verdict {
    let Some(f) = &plan.seccomp else {
        return Verdict::Allowed;
    };
    let allows = |a: &SeccompAction| matches!(a, SeccompAction::Allow | SeccompAction::Log);
    let rules: Vec<_> = f.rules.iter().filter(|r| r.syscall == name).collect();
    if let Some(r) = rules.iter().rev().find(|r| r.args.is_empty()) {
        return if allows(&r.action) {
            Verdict::Allowed
        } else {
            Verdict::Restricted
        };
    }
    if rules.iter().any(|r| !allows(&r.action)) || !allows(&f.default_action) {
        Verdict::Restricted
    } else {
        Verdict::Allowed
    }
}

/// The filter refuses `ioctl(fd, TIOCSTI)` (on the low 32 bits the kernel reads, or all).
pub fn seccomp_blocks_tiocsti(plan: &Plan) -> bool {
    let Some(f) = &plan.seccomp else {
        return false;
    };
    if !matches!(f.default_action, SeccompAction::Allow | SeccompAction::Log) {
        return !f.rules.iter().any(|r| {
            r.syscall == "ioctl" && r.args.is_empty() && r.action == SeccompAction::Allow
        });
    }
    f.rules.iter().any(|r| {
        r.syscall == "ioctl"
            && !matches!(r.action, SeccompAction::Allow | SeccompAction::Log)
            && (r.args.is_empty()
                || r.args.iter().any(|a| {
                    a.index == 1
                        && a.value == TIOCSTI
                        && (a.op == SeccompOp::Eq
                            || a.op == SeccompOp::MaskedEq && a.mask & 0xffff_ffff == 0xffff_ffff)
                }))
    })
}

fn seccomp(plan: &Plan, out: &mut Vec<Raw>) {
    let Some(f) = &plan.seccomp else {
        out.push(Raw::new("STK-SC-001", "seccomp", "no [seccomp] filter"));
        return;
    };
    if matches!(f.default_action, SeccompAction::Allow | SeccompAction::Log) {
        out.push(Raw::new(
            "STK-SC-002",
            "seccomp.default-action",
            format!(
                "default action {}",
                crate::plan::explain::action_text(&f.default_action)
            ),
        ));
    }
    let allowed: Vec<&str> = crate::seccomp::DANGEROUS_SYSCALLS
        .iter()
        .copied()
        .filter(|name| verdict(plan, name) == Verdict::Allowed)
        .collect();
    if !allowed.is_empty() {
        out.push(Raw::new(
            "STK-SC-003",
            "seccomp",
            format!("allowed: {}", allowed.join(" ")),
        ));
    }
    if !f.extra_architectures.is_empty() {
        out.push(Raw::new(
            "STK-SC-004",
            "seccomp.architectures",
            format!("also accepted: {}", f.extra_architectures.join(" ")),
        ));
    }
}

/// The Landlock ruleset as enforced: the plan's, or with `--host` and best-effort, what
/// the running kernel's ABI keeps of it (nothing without Landlock).
pub fn effective_landlock(s: &Subject<'_>) -> Option<LandlockPlan> {
    let l = s.plan.landlock.as_ref()?;
    let Some(host) = s.host else {
        return Some(l.clone());
    };
    if l.compat == Compat::Required || host.landlock_abi >= l.abi {
        return Some(l.clone());
    }
    if host.landlock_abi == 0 {
        return None;
    }
    let abi = host.landlock_abi;
    let known: Vec<String> = crate::compile::access_names(abi);
    let mut l = l.clone();
    l.abi = abi;
    l.handled_fs.retain(|r| known.contains(r));
    for p in &mut l.paths {
        p.access.retain(|r| known.contains(r));
    }
    if abi < 4 {
        l.bind_tcp = None;
        l.connect_tcp = None;
    }
    if abi < 6 {
        l.scopes.clear();
    }
    Some(l)
}

fn landlock(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let Some(l) = effective_landlock(s) else {
        let detail = if s.plan.landlock.is_some() {
            "best-effort, and this kernel has no Landlock"
        } else {
            "no [landlock] table"
        };
        out.push(Raw::new("STK-LL-001", "landlock", detail));
        return;
    };
    let names: Vec<&str> = crate::compile::ACCESS_RIGHTS
        .iter()
        .map(|(name, _)| *name)
        .filter(|r| !l.handled_fs.iter().any(|h| h == r))
        .collect();
    if !names.is_empty() {
        out.push(Raw::new(
            "STK-LL-002",
            "landlock.abi",
            format!("ABI {}: not handled: {}", l.abi, names.join(" ")),
        ));
    }
    let own_netns = s.plan.network == NetworkMode::None || s.plan.namespaces.net;
    if !l.scopes.iter().any(|x| x == "abstract-unix-socket") {
        out.push(
            Raw::new(
                "STK-LL-003",
                "landlock.scope",
                "abstract-unix-socket scope unset",
            )
            .moot_if(
                own_netns.then_some("own network namespace: abstract sockets are per namespace"),
            ),
        );
    }
    if !l.scopes.iter().any(|x| x == "signal") {
        out.push(
            Raw::new("STK-LL-004", "landlock.scope", "signal scope unset").moot_if(
                s.plan
                    .namespaces
                    .pid
                    .then_some("own PID namespace: no outside process is visible"),
            ),
        );
    }
    // Write and execute on one tree: a path with both, or a writable path that is an
    // executable path, beneath one or above one.
    let writes = |a: &[String]| a.iter().any(|r| r == "write-file" || r == "make-reg");
    let execs = |a: &[String]| a.iter().any(|r| r == "execute");
    let wx: Vec<&Path> = l
        .paths
        .iter()
        .filter(|w| writes(&w.access))
        .filter(|w| {
            l.paths.iter().any(|x| {
                execs(&x.access) && (w.path.starts_with(&x.path) || x.path.starts_with(&w.path))
            })
        })
        .map(|w| w.path.as_path())
        .collect();
    if !wx.is_empty() && l.handled_fs.iter().any(|r| r == "execute") {
        let shown: Vec<String> = wx.iter().map(|p| p.display().to_string()).collect();
        out.push(Raw::new(
            "STK-LL-005",
            "landlock.write",
            format!("writable and executable: {}", shown.join(" ")),
        ));
    }
}

fn capabilities(plan: &Plan, out: &mut Vec<Raw>) {
    let c = &plan.capabilities;
    for (i, cap) in c.keep.iter().enumerate() {
        let id = if DANGEROUS_CAPS.contains(&cap.name.as_str()) {
            "STK-CAP-001"
        } else {
            "STK-CAP-002"
        };
        out.push(Raw::new(
            id,
            format!("capabilities.keep[{i}]"),
            cap.name.clone(),
        ));
    }
    if !c.ambient.is_empty() {
        let names: Vec<&str> = c.ambient.iter().map(|c| c.name.as_str()).collect();
        out.push(Raw::new(
            "STK-CAP-003",
            "capabilities.ambient",
            names.join(" "),
        ));
    }
}
