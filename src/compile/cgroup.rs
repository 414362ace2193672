//! `[resources]` → [`ResourcePlan`] (kernel units: bytes, microseconds).

use super::Ctx;
use crate::plan::{Compat, ResourcePlan};
use crate::profile::Profile;

/// Default CFS period (100 ms), as systemd and the OCI runtimes use.
pub const DEFAULT_CPU_PERIOD_US: u64 = 100_000;

pub fn compile(cx: &mut Ctx, p: &Profile) -> Option<ResourcePlan> {
    let r = p.resources.as_ref()?;
    let size = |cx: &mut Ctx, key: &str, v: &Option<crate::profile::IntOrString>| {
        v.as_ref().and_then(|v| cx.size(key, v))
    };
    let memory_max = size(cx, "resources.memory", &r.memory);
    let memory_high = size(cx, "resources.memory-high", &r.memory_high);
    let memory_swap_max = size(cx, "resources.memory-swap", &r.memory_swap);
    for (key, v) in [
        ("resources.memory", memory_max),
        ("resources.memory-high", memory_high),
    ] {
        if v.is_some_and(|b| b < 1 << 20) {
            cx.error(
                key,
                format!("`{key}` below 1 MiB cannot run anything"),
                Some("write a unit, e.g. \"256MiB\" (a bare number is bytes)".into()),
            );
        }
    }
    let cpu_period_us = r.cpu_period.unwrap_or(DEFAULT_CPU_PERIOD_US);
    if !(1_000..=1_000_000).contains(&cpu_period_us) {
        cx.error(
            "resources.cpu-period",
            "`resources.cpu-period` must be 1000..1000000 microseconds",
            None,
        );
    }
    let cpu_quota_us = match (r.cpu, r.cpu_quota) {
        (Some(_), Some(_)) => {
            cx.error_on_key(
                "resources.cpu-quota",
                "`resources.cpu` and `resources.cpu-quota` say the same thing twice",
                Some("keep one: cpu = 1.5 means a quota of 1.5 periods".into()),
            );
            None
        }
        (Some(c), None) => {
            if !(c.0.is_finite() && c.0 > 0.0 && c.0 <= 1024.0) {
                cx.error(
                    "resources.cpu",
                    format!("`resources.cpu` = {} is not a number of cores", c.0),
                    Some("e.g. 0.5 for half a core, 2 for two".into()),
                );
                None
            } else {
                Some(((c.0 * cpu_period_us as f64).round() as u64).max(1_000))
            }
        }
        (None, Some(q)) => {
            if q < 1_000 {
                cx.error(
                    "resources.cpu-quota",
                    "`resources.cpu-quota` must be at least 1000 microseconds",
                    None,
                );
            }
            Some(q)
        }
        (None, None) => None,
    };
    for (key, v) in [
        ("resources.cpu-weight", r.cpu_weight),
        ("resources.io-weight", r.io_weight),
    ] {
        if v.is_some_and(|w| !(1..=10_000).contains(&w)) {
            cx.error(
                key,
                format!("`{key}` must be 1..10000"),
                Some("100 is the default weight".into()),
            );
        }
    }
    if r.pids == Some(0) {
        cx.error(
            "resources.pids",
            "`resources.pids = 0` would not even allow the payload",
            Some("allow at least 1 (a few dozen for a shell)".into()),
        );
    }
    for (key, v) in [
        ("resources.cpuset-cpus", &r.cpuset_cpus),
        ("resources.cpuset-mems", &r.cpuset_mems),
    ] {
        if let Some(s) = v {
            let valid = !s.is_empty()
                && s.split(',').all(|part| {
                    let mut ends = part.trim().splitn(2, '-');
                    let a = ends.next().and_then(|x| x.parse::<u32>().ok());
                    let b = ends.next().map(|x| x.parse::<u32>().ok());
                    matches!((a, b), (Some(_), None))
                        || matches!((a, b), (Some(a), Some(Some(b))) if a <= b)
                });
            if !valid {
                cx.error(
                    key,
                    format!("`{key}` = `{s}` is not a CPU/node list"),
                    Some("write e.g. \"0-1\" or \"0,2-3\"".into()),
                );
            }
        }
    }
    Some(ResourcePlan {
        compat: r.compat.unwrap_or(Compat::Required),
        memory_max,
        memory_high,
        memory_swap_max,
        cpu_quota_us,
        cpu_period_us,
        cpu_weight: r.cpu_weight,
        pids_max: r.pids,
        io_weight: r.io_weight,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
    })
}
