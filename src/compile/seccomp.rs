//! `[seccomp]` → [`SeccompPlan`]: names checked against libseccomp, groups expanded, the
//! preset merged, and redundant or contradictory rules resolved.

use super::Ctx;
use crate::diag::did_you_mean;
use crate::plan::{SeccompAction, SeccompArgPlan, SeccompOp, SeccompPlan, SeccompRulePlan};
use crate::profile::seccomp::Preset;
use crate::profile::Profile;
use crate::seccomp::{groups, preset};
use libseccomp::{ScmpArch, ScmpSyscall};

use crate::units::ERRNOS;

/// Parse `allow`, `errno:NAME`, `kill-process`, `kill-thread`, `trap`, `log`.
pub fn parse_action(cx: &mut Ctx, key: &str, s: &str) -> Option<SeccompAction> {
    let help = || {
        Some(
            "actions: allow, errno:NAME (e.g. errno:EPERM), kill-process, kill-thread, trap, log"
                .to_string(),
        )
    };
    let t = s.trim();
    if let Some(e) = t.strip_prefix("errno:") {
        let e = e.trim();
        let n = e
            .parse::<i32>()
            .ok()
            .filter(|n| (1..4096).contains(n))
            .or_else(|| {
                ERRNOS
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(e))
                    .map(|(_, v)| *v)
            });
        return match n {
            Some(errno) => Some(SeccompAction::Errno { errno }),
            None => {
                let hint = did_you_mean(&e.to_ascii_uppercase(), ERRNOS.iter().map(|(n, _)| *n))
                    .map(|m| format!("did you mean `errno:{m}`?"));
                cx.error(
                    key,
                    format!("unknown errno `{e}` in `{key}`"),
                    hint.or_else(help),
                );
                None
            }
        };
    }
    match t {
        "allow" => Some(SeccompAction::Allow),
        "errno" => Some(SeccompAction::Errno { errno: 1 }),
        "kill-process" | "kill" => Some(SeccompAction::KillProcess),
        "kill-thread" => Some(SeccompAction::KillThread),
        "trap" => Some(SeccompAction::Trap),
        "log" => Some(SeccompAction::Log),
        other => {
            let hint = did_you_mean(
                other,
                ["allow", "kill-process", "kill-thread", "trap", "log"],
            )
            .map(|m| format!("did you mean `{m}`?"));
            cx.error(
                key,
                format!("unknown seccomp action `{other}` in `{key}`"),
                hint.or_else(help),
            );
            None
        }
    }
}

/// Resolve a syscall name or `@group` to names libseccomp knows.
fn names(cx: &mut Ctx, key: &str, entry: &str) -> Vec<String> {
    let entry = entry.trim();
    if entry.starts_with('@') {
        return match groups::expand(entry) {
            Some(members) => {
                let mut unknown = Vec::new();
                let known = members
                    .into_iter()
                    .filter(|m| {
                        let ok = ScmpSyscall::from_name(m).is_ok();
                        if !ok {
                            unknown.push(*m);
                        }
                        ok
                    })
                    .map(str::to_owned)
                    .collect();
                if !unknown.is_empty() {
                    cx.warn(
                        key,
                        format!(
                            "{entry}: libseccomp does not know {} and cannot filter them",
                            unknown.join(", ")
                        ),
                        Some("a newer libseccomp knows them".into()),
                    );
                }
                known
            }
            None => {
                let hint = did_you_mean(entry, groups::GROUPS.iter().map(|g| g.name))
                    .map(|m| format!("did you mean `{m}`?"));
                cx.error(
                    key,
                    format!("unknown syscall group `{entry}`"),
                    hint.or_else(|| Some("`stockade seccomp groups` lists them".into())),
                );
                Vec::new()
            }
        };
    }
    match ScmpSyscall::from_name(entry) {
        // `from_name` already resolves for the native architecture (libseccomp's
        // SCMP_ARCH_NATIVE); a second lookup by arch gave the same number.
        Ok(nr) => {
            if i32::from(nr) < 0 {
                cx.warn(key, format!("syscall `{entry}` does not exist on this architecture; the rule has no effect here"), None);
            }
            vec![entry.to_owned()]
        }
        Err(_) => {
            let all = native_syscall_names();
            let hint = did_you_mean(entry, all.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`?"));
            cx.error(
                key,
                format!("unknown syscall `{entry}`"),
                hint.or_else(|| {
                    Some(
                        "use a name from syscalls(2), or an @group (`stockade seccomp groups`)"
                            .into(),
                    )
                }),
            );
            Vec::new()
        }
    }
}

/// Every syscall name libseccomp knows for the native architecture (for "did you mean").
fn native_syscall_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        // x86_64 numbers stop below 512 (x32 starts at 512 with its own names); 1024 also
        // covers the other 64-bit architectures' tables.
        (0..1024)
            .filter_map(|nr| {
                ScmpSyscall::from_raw_syscall(nr)
                    .get_name_by_arch(ScmpArch::native())
                    .ok()
            })
            .collect()
    })
}

pub fn compile(cx: &mut Ctx, p: &Profile) -> Option<SeccompPlan> {
    let s = p.seccomp.as_ref()?;
    if s.enabled == Some(false) {
        return None;
    }
    let default_action = match &s.default_action {
        Some(a) => parse_action(cx, "seccomp.default-action", a).unwrap_or(SeccompAction::Allow),
        None => SeccompAction::Allow,
    };
    let deny_action = match &s.deny_action {
        Some(a) => {
            parse_action(cx, "seccomp.deny-action", a).unwrap_or(SeccompAction::Errno { errno: 1 })
        }
        None => SeccompAction::Errno { errno: 1 },
    };
    let mut allow: Vec<String> = Vec::new();
    for (i, e) in s.allow.iter().flatten().enumerate() {
        allow.extend(names(cx, &format!("seccomp.allow[{i}]"), e));
    }
    let mut deny: Vec<(String, String)> = Vec::new();
    for (i, e) in s.deny.iter().flatten().enumerate() {
        let key = format!("seccomp.deny[{i}]");
        for n in names(cx, &key, e) {
            if allow.contains(&n) {
                cx.error(
                    &key,
                    format!("syscall `{n}` is both allowed and denied"),
                    Some("remove it from `seccomp.allow` or `seccomp.deny`".into()),
                );
            }
            deny.push((n, key.clone()));
        }
    }
    let mut rules: Vec<SeccompRulePlan> = Vec::new();
    if s.preset == Some(Preset::Default) {
        // An explicit allow overrides the preset for that syscall (all its conditions).
        rules.extend(
            preset::default_rules(deny_action)
                .into_iter()
                .filter(|r| !allow.contains(&r.syscall)),
        );
    }
    for (n, _) in deny {
        rules.push(SeccompRulePlan {
            syscall: n,
            action: deny_action,
            args: Vec::new(),
        });
    }
    for n in allow {
        rules.push(SeccompRulePlan {
            syscall: n,
            action: SeccompAction::Allow,
            args: Vec::new(),
        });
    }
    for (i, r) in s.rule.iter().flatten().enumerate() {
        let key = format!("seccomp.rule[{i}]");
        let Some(action) = parse_action(cx, &format!("{key}.action"), &r.action) else {
            continue;
        };
        let mut args = Vec::new();
        for (j, a) in r.args.iter().flatten().enumerate() {
            let k = format!("{key}.args[{j}]");
            if a.index > 5 {
                cx.error(
                    &format!("{k}.index"),
                    format!("argument index {} is out of range", a.index),
                    Some(
                        "system calls have six arguments: index 0 is the first, 5 the last".into(),
                    ),
                );
            }
            let op = match a.op.as_str() {
                "eq" => SeccompOp::Eq,
                "ne" => SeccompOp::Ne,
                "lt" => SeccompOp::Lt,
                "le" => SeccompOp::Le,
                "gt" => SeccompOp::Gt,
                "ge" => SeccompOp::Ge,
                "masked-eq" => SeccompOp::MaskedEq,
                other => {
                    let hint =
                        did_you_mean(other, ["eq", "ne", "lt", "le", "gt", "ge", "masked-eq"])
                            .map(|m| format!("did you mean `{m}`?"));
                    cx.error(
                        &format!("{k}.op"),
                        format!("unknown comparison `{other}`"),
                        hint.or_else(|| Some("use eq, ne, lt, le, gt, ge or masked-eq".into())),
                    );
                    continue;
                }
            };
            let value = cx
                .uint(&format!("{k}.value"), &a.value, u64::MAX)
                .unwrap_or(0);
            let mask = match (&a.mask, op) {
                (Some(m), SeccompOp::MaskedEq) => {
                    cx.uint(&format!("{k}.mask"), m, u64::MAX).unwrap_or(0)
                }
                (None, SeccompOp::MaskedEq) => {
                    cx.error(
                        &k,
                        "`masked-eq` needs a `mask`",
                        Some("(arg & mask) == value".into()),
                    );
                    0
                }
                (Some(_), _) => {
                    cx.error_on_key(
                        &format!("{k}.mask"),
                        "`mask` only applies to `masked-eq`",
                        None,
                    );
                    0
                }
                (None, _) => 0,
            };
            args.push(SeccompArgPlan {
                index: a.index,
                op,
                value,
                mask,
            });
        }
        if r.syscalls.is_empty() {
            cx.error(
                &format!("{key}.syscalls"),
                "a rule needs at least one syscall",
                None,
            );
        }
        for (j, e) in r.syscalls.iter().enumerate() {
            for n in names(cx, &format!("{key}.syscalls[{j}]"), e) {
                rules.push(SeccompRulePlan {
                    syscall: n,
                    action,
                    args: args.clone(),
                });
            }
        }
    }
    // A rule with the default action is redundant (and libseccomp refuses it); a repeated
    // (syscall, conditions) keeps its last action, as later layers override earlier ones.
    let keep = crate::seccomp::last_occurrences(&rules);
    let out: Vec<SeccompRulePlan> = rules
        .into_iter()
        .zip(keep)
        .filter(|(r, keep)| *keep && r.action != default_action)
        .map(|(r, _)| r)
        .collect();
    let mut extra_architectures = Vec::new();
    for (i, a) in s.architectures.iter().flatten().enumerate() {
        match a.as_str() {
            "x86" | "x32" => extra_architectures.push(a.clone()),
            "native" | "x86_64" => {}
            other => cx.error(
                &format!("seccomp.architectures[{i}]"),
                format!("unknown architecture `{other}`"),
                Some("extra ABIs on x86_64: x86 (i386), x32".into()),
            ),
        }
    }
    Some(SeccompPlan {
        default_action,
        rules: out,
        extra_architectures,
        log: s.log.unwrap_or(false),
    })
}
