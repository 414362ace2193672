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

pub fn compile(cx: &mut Ctx, p: &Profile) -> Vec<RlimitPlan> {
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
                let n = limit(cx, &k, b, *sized);
                (n, n)
            }
            RlimitValue::Split { soft, hard } => (
                limit(cx, &format!("{k}.soft"), soft, *sized),
                limit(cx, &format!("{k}.hard"), hard, *sized),
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

fn limit(cx: &mut Ctx, key: &str, v: &IntOrString, sized: bool) -> Option<u64> {
    match v {
        IntOrString::Str(s) if s.trim() == "unlimited" || s.trim() == "infinity" => {
            Some(RLIM_UNLIMITED)
        }
        IntOrString::Str(_) if sized => cx.size(key, v),
        IntOrString::Str(s) if s.trim().parse::<u64>().is_err() && !s.contains("${") => {
            cx.error(
                key,
                format!("`{key}` must be a number or \"unlimited\", found {v}"),
                Some("e.g. 1024, \"unlimited\", or { soft = 1024, hard = 4096 }".into()),
            );
            None
        }
        _ => cx.uint(key, v, u64::MAX - 1),
    }
}
