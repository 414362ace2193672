//! `[rlimits]` → [`RlimitPlan`]s, sorted by resource number.

use super::Ctx;
use crate::plan::{RlimitPlan, RLIM_UNLIMITED};
use crate::profile::{IntOrString, Profile, RlimitValue};

/// (profile key, RLIMIT_ name, resource number, takes byte sizes).
pub const RLIMITS: &[(&str, &str, u32, bool)] = &[
    ("cpu", "RLIMIT_CPU", 0, false),
    ("fsize", "RLIMIT_FSIZE", 1, true),
    ("data", "RLIMIT_DATA", 2, true),
    ("stack", "RLIMIT_STACK", 3, true),
    ("core", "RLIMIT_CORE", 4, true),
    ("rss", "RLIMIT_RSS", 5, true),
    ("nproc", "RLIMIT_NPROC", 6, false),
    ("nofile", "RLIMIT_NOFILE", 7, false),
    ("memlock", "RLIMIT_MEMLOCK", 8, true),
    ("as", "RLIMIT_AS", 9, true),
    ("locks", "RLIMIT_LOCKS", 10, false),
    ("sigpending", "RLIMIT_SIGPENDING", 11, false),
    ("msgqueue", "RLIMIT_MSGQUEUE", 12, true),
    ("nice", "RLIMIT_NICE", 13, false),
    ("rtprio", "RLIMIT_RTPRIO", 14, false),
    ("rttime", "RLIMIT_RTTIME", 15, false),
];

/// `user_ns`: the sandbox has its own user namespace, where no capability raises a hard
/// limit (setrlimit checks CAP_SYS_RESOURCE in the initial user namespace).
pub fn compile(cx: &mut Ctx, p: &Profile, user_ns: bool) -> Vec<RlimitPlan> {
    let Some(r) = &p.rlimits else {
        return Vec::new();
    };
    let values = [
        &r.cpu,
        &r.fsize,
        &r.data,
        &r.stack,
        &r.core,
        &r.rss,
        &r.nproc,
        &r.nofile,
        &r.memlock,
        &r.as_,
        &r.locks,
        &r.sigpending,
        &r.msgqueue,
        &r.nice,
        &r.rtprio,
        &r.rttime,
    ];
    let mut out = Vec::new();
    for ((key, name, resource, sized), value) in RLIMITS.iter().zip(values) {
        let Some(v) = value else { continue };
        let k = format!("rlimits.{key}");
        let (soft, hard) = match v {
            RlimitValue::Both(b) => {
                let n = limit(cx, &k, b, *sized, *resource);
                (n, n)
            }
            RlimitValue::Split { soft, hard } => (
                limit(cx, &format!("{k}.soft"), soft, *sized, *resource),
                limit(cx, &format!("{k}.hard"), hard, *sized, *resource),
            ),
        };
        let (Some(soft), Some(hard)) = (soft, hard) else {
            continue;
        };
        if soft > hard {
            cx.error(
                &k,
                format!("`{k}`: the soft limit is above the hard limit"),
                Some("the soft limit must be at most the hard limit".into()),
            );
            continue;
        }
        // Checked here, not at setrlimit in the child: there the failure could only be a
        // bare EPERM, after the sandbox was half built.
        let host_hard = cx.host.rlimit_hard.get(resource).copied();
        let can_raise = cx.host.can_raise_rlimits && !user_ns;
        if let Some(have) = host_hard.filter(|have| hard > *have && !can_raise) {
            let why = if cx.host.can_raise_rlimits {
                "inside a user namespace no capability raises a hard limit"
            } else {
                "raising a hard limit needs CAP_SYS_RESOURCE, which the caller lacks"
            };
            cx.error(
                &k,
                format!(
                    "`{k}`: a hard limit of {} is above the caller's hard limit of {} \
                     ({why})",
                    show(hard),
                    show(have)
                ),
                Some(format!(
                    "use at most {}, or \"host\" for the caller's hard limit wherever it \
                     runs (e.g. `{key} = {{ soft = {}, hard = \"host\" }}`)",
                    show(have),
                    show(soft.min(have))
                )),
            );
            continue;
        }
        if *key == "nofile" && soft < 8 {
            cx.warn(
                &k,
                "`rlimits.nofile` below 8 leaves the payload almost no file descriptors",
                None,
            );
        }
        out.push(RlimitPlan {
            name: (*name).to_owned(),
            resource: *resource,
            soft,
            hard,
        });
    }
    out
}

fn show(v: u64) -> String {
    if v == RLIM_UNLIMITED {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

fn limit(cx: &mut Ctx, key: &str, v: &IntOrString, sized: bool, resource: u32) -> Option<u64> {
    match v {
        IntOrString::Str(s) if s.trim() == "unlimited" || s.trim() == "infinity" => {
            Some(RLIM_UNLIMITED)
        }
        // The caller's hard limit: as high as the sandbox can go on whatever host it runs.
        IntOrString::Str(s) if s.trim() == "host" => Some(
            cx.host
                .rlimit_hard
                .get(&resource)
                .copied()
                .unwrap_or(RLIM_UNLIMITED),
        ),
        IntOrString::Str(_) if sized => cx.size(key, v),
        IntOrString::Str(s) if s.trim().parse::<u64>().is_err() && !s.contains("${") => {
            cx.error(
                key,
                format!("`{key}` must be a number, \"unlimited\" or \"host\", found {v}"),
                Some("e.g. 1024, \"unlimited\", \"host\", or { soft = 1024, hard = 4096 }".into()),
            );
            None
        }
        _ => cx.uint(key, v, u64::MAX - 1),
    }
}
