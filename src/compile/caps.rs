//! `[capabilities]` → [`CapsPlan`].

use super::namespaces::Namespaces;
use super::Ctx;
use crate::diag::did_you_mean;
use crate::plan::{Cap, CapsPlan};
use crate::profile::Profile;
use std::str::FromStr;

pub fn compile(cx: &mut Ctx, p: &Profile, ns: &Option<Namespaces>) -> Option<CapsPlan> {
    let c = p.capabilities.clone().unwrap_or_default();
    let keep = names(
        cx,
        "capabilities.keep",
        c.keep.as_deref().unwrap_or_default(),
    );
    let ambient = names(
        cx,
        "capabilities.ambient",
        c.ambient.as_deref().unwrap_or_default(),
    );
    for (i, a) in ambient.iter().enumerate() {
        if !keep.contains(a) {
            cx.error(
                &format!("capabilities.ambient[{i}]"),
                format!(
                    "ambient capability {} is not in `capabilities.keep`",
                    a.name
                ),
                Some(format!("add \"{}\" to capabilities.keep", a.name)),
            );
        }
    }
    let privileged = cx.host.uid == 0 || ns.as_ref().is_some_and(|n| n.plan.user);
    if !keep.is_empty() && !privileged {
        cx.error_on_key(
            "capabilities.keep",
            "keeping capabilities needs root or a user namespace",
            Some("set `namespaces.user = true`".into()),
        );
    }
    let no_new_privs = c.no_new_privs.unwrap_or(true);
    // Without CAP_SYS_ADMIN the kernel accepts a seccomp filter or a Landlock ruleset only
    // from a process with no_new_privs.
    let sys_admin = keep.iter().any(|c| c.name == "CAP_SYS_ADMIN");
    let filtered = p.seccomp.as_ref().is_some_and(|s| s.enabled != Some(false))
        || p.landlock
            .as_ref()
            .is_some_and(|l| l.enabled != Some(false));
    if !no_new_privs && filtered && !sys_admin {
        cx.error(
            "capabilities.no-new-privs",
            "`no-new-privs = false` with seccomp or Landlock: the kernel refuses both without no_new_privs or CAP_SYS_ADMIN",
            Some("keep `no-new-privs = true` (the default), or disable [seccomp] and [landlock]".into()),
        );
    }
    Some(CapsPlan {
        keep,
        ambient,
        no_new_privs,
    })
}

fn names(cx: &mut Ctx, key: &str, list: &[String]) -> Vec<Cap> {
    let mut out: Vec<Cap> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let upper = raw.trim().to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        match caps::Capability::from_str(&full) {
            Ok(cap) => {
                let number = cap.index();
                if number > cx.host.cap_last_cap {
                    cx.warn(
                        &format!("{key}[{i}]"),
                        format!(
                            "{full} is not known to this kernel (last capability is {})",
                            cx.host.cap_last_cap
                        ),
                        None,
                    );
                }
                if !out.iter().any(|c| c.number == number) {
                    out.push(Cap { number, name: full });
                }
            }
            Err(_) => {
                let all: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
                let hint = did_you_mean(&full, all.iter().map(String::as_str))
                    .map(|m| format!("did you mean `{m}`?"));
                cx.error(
                    &format!("{key}[{i}]"),
                    format!("unknown capability `{raw}`"),
                    hint.or_else(|| {
                        Some("see capabilities(7) for the names, e.g. CAP_NET_BIND_SERVICE".into())
                    }),
                );
            }
        }
    }
    out.sort_by_key(|c| c.number);
    out
}
