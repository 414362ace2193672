//! Exit causes and usage read back from the cgroup after the payload ended: OOM kills,
//! pids-limit hits, CPU time and throttling, peak memory. Parsing is pure; readers go
//! through [`CgroupFs`].

use super::fs::CgroupFs;
use super::limits::format_bytes;
use crate::plan::ResourcePlan;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What the cgroup saw, for the run report and the exit message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgroupOutcome {
    /// The cgroup version used (None: no cgroup was created).
    pub version: Option<u8>,
    /// The kernel OOM killer killed at least one process of the sandbox.
    pub oom_killed: bool,
    /// How many processes the OOM killer killed.
    pub oom_kills: u64,
    /// How often memory usage hit the limit (v2 memory.events `max`, v1 memory.failcnt).
    pub memory_limit_hits: Option<u64>,
    /// fork/clone failed at least once because of pids.max.
    pub pids_limit_hit: bool,
    /// How many forks pids.max refused (pids.events `max`).
    pub pids_limit_hits: u64,
    /// Peak memory use in bytes (memory.peak, v1 memory.max_usage_in_bytes).
    pub memory_peak: Option<u64>,
    /// Total CPU time in microseconds (cpu.stat usage_usec, v1 cpuacct.usage).
    pub cpu_usage_us: Option<u64>,
    pub cpu_user_us: Option<u64>,
    pub cpu_system_us: Option<u64>,
    /// Periods in which the CPU quota throttled the sandbox, and for how long in total.
    pub throttled_periods: Option<u64>,
    pub throttled_us: Option<u64>,
    /// Limits the profile asked for that were not enforced (best-effort), one line each.
    pub not_enforced: Vec<String>,
    /// Why the payload ended as far as the cgroup knows ([`exit_message`]); filled by the
    /// executor, which knows the payload's signal.
    pub message: Option<String>,
}

/// Parse a flat-keyed cgroup file (`key value` per line): memory.events, pids.events,
/// cpu.stat, cpuacct.stat, memory.oom_control. Lines that are not `key u64` are skipped.
pub fn parse_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse().ok()?;
            Some((k.to_string(), v))
        })
        .collect()
}

fn read_keyed(fs: &dyn CgroupFs, path: &Path) -> Option<BTreeMap<String, u64>> {
    fs.read(path).ok().map(|t| parse_keyed(&t))
}

fn read_u64(fs: &dyn CgroupFs, path: &Path) -> Option<u64> {
    fs.read(path).ok()?.trim().parse().ok()
}

/// Read a v2 leaf.
pub fn read_v2(fs: &dyn CgroupFs, leaf: &Path) -> CgroupOutcome {
    let mut o = CgroupOutcome {
        version: Some(2),
        ..CgroupOutcome::default()
    };
    if let Some(ev) = read_keyed(fs, &leaf.join("memory.events")) {
        o.oom_kills = ev.get("oom_kill").copied().unwrap_or(0);
        o.memory_limit_hits = ev.get("max").copied();
    }
    o.memory_peak = read_u64(fs, &leaf.join("memory.peak"));
    if let Some(ev) = read_keyed(fs, &leaf.join("pids.events")) {
        o.pids_limit_hits = ev.get("max").copied().unwrap_or(0);
    }
    // cpu.stat exists in every v2 cgroup (usage is accounted without the cpu controller);
    // the throttling lines only with the cpu controller enabled.
    if let Some(st) = read_keyed(fs, &leaf.join("cpu.stat")) {
        o.cpu_usage_us = st.get("usage_usec").copied();
        o.cpu_user_us = st.get("user_usec").copied();
        o.cpu_system_us = st.get("system_usec").copied();
        o.throttled_periods = st.get("nr_throttled").copied();
        o.throttled_us = st.get("throttled_usec").copied();
    }
    o.oom_killed = o.oom_kills > 0;
    o.pids_limit_hit = o.pids_limit_hits > 0;
    o
}

/// The v1 leaves to read, one per hierarchy (None: no leaf in that hierarchy).
#[derive(Debug, Default)]
pub struct V1Leaves<'a> {
    pub memory: Option<&'a Path>,
    pub pids: Option<&'a Path>,
    pub cpu: Option<&'a Path>,
    pub cpuacct: Option<&'a Path>,
}

/// Read v1 leaves. `ticks_per_sec`: USER_HZ, the unit of cpuacct.stat.
pub fn read_v1(fs: &dyn CgroupFs, leaves: &V1Leaves<'_>, ticks_per_sec: u64) -> CgroupOutcome {
    let mut o = CgroupOutcome {
        version: Some(1),
        ..CgroupOutcome::default()
    };
    if let Some(mem) = leaves.memory {
        if let Some(oc) = read_keyed(fs, &mem.join("memory.oom_control")) {
            o.oom_kills = oc.get("oom_kill").copied().unwrap_or(0);
        }
        o.memory_limit_hits = read_u64(fs, &mem.join("memory.failcnt"));
        o.memory_peak = read_u64(fs, &mem.join("memory.max_usage_in_bytes"));
    }
    if let Some(p) = leaves.pids {
        if let Some(ev) = read_keyed(fs, &p.join("pids.events")) {
            o.pids_limit_hits = ev.get("max").copied().unwrap_or(0);
        }
    }
    if let Some(acct) = leaves.cpuacct {
        o.cpu_usage_us = read_u64(fs, &acct.join("cpuacct.usage")).map(|ns| ns / 1000);
        if let Some(st) = read_keyed(fs, &acct.join("cpuacct.stat")) {
            let to_us = |t: u64| t.saturating_mul(1_000_000) / ticks_per_sec.max(1);
            o.cpu_user_us = st.get("user").copied().map(to_us);
            o.cpu_system_us = st.get("system").copied().map(to_us);
        }
    }
    if let Some(cpu) = leaves.cpu {
        if let Some(st) = read_keyed(fs, &cpu.join("cpu.stat")) {
            o.throttled_periods = st.get("nr_throttled").copied();
            o.throttled_us = st.get("throttled_time").copied().map(|ns| ns / 1000);
        }
    }
    o.oom_killed = o.oom_kills > 0;
    o.pids_limit_hit = o.pids_limit_hits > 0;
    o
}

/// Why the payload ended, as far as the cgroup knows, e.g.
/// `payload killed by the kernel OOM killer (memory limit 100 MiB)`. `signal`: the signal
/// that ended the payload, if any. None when the cgroup saw nothing worth saying.
pub fn exit_message(
    outcome: &CgroupOutcome,
    plan: &ResourcePlan,
    signal: Option<i32>,
) -> Option<String> {
    let mut parts = Vec::new();
    if outcome.oom_killed {
        let limit = match plan.memory_max {
            Some(m) => format!(" (memory limit {})", format_bytes(m)),
            None => String::new(),
        };
        // The OOM killer sends SIGKILL. If the payload itself died of it, say so; if it
        // ended otherwise, a child of it was the victim.
        if signal == Some(libc::SIGKILL) {
            parts.push(format!("payload killed by the kernel OOM killer{limit}"));
        } else {
            let n = outcome.oom_kills;
            let procs = if n == 1 { "process" } else { "processes" };
            parts.push(format!(
                "the kernel OOM killer killed {n} {procs} in the sandbox{limit}"
            ));
        }
    }
    if outcome.pids_limit_hit {
        let limit = plan
            .pids_max
            .map(|p| format!(" ({p} processes)"))
            .unwrap_or_default();
        let n = outcome.pids_limit_hits;
        let times = if n == 1 { "time" } else { "times" };
        parts.push(format!(
            "the sandbox hit its pids limit{limit}: fork/clone failed {n} {times}"
        ));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Compat;

    fn plan() -> ResourcePlan {
        ResourcePlan {
            compat: Compat::Required,
            memory_max: Some(100 << 20),
            memory_high: None,
            memory_swap_max: None,
            cpu_quota_us: None,
            cpu_period_us: 100_000,
            cpu_weight: None,
            pids_max: Some(64),
            io_weight: None,
            cpuset_cpus: None,
            cpuset_mems: None,
        }
    }

    #[test]
    fn keyed_files_parse_and_skip_garbage() {
        let m = parse_keyed("low 0\nhigh 3\nmax 7\noom 1\noom_kill 1\nbogus\nx y\n");
        assert_eq!(m.get("max"), Some(&7));
        assert_eq!(m.get("oom_kill"), Some(&1));
        assert!(!m.contains_key("x"));
    }

    #[test]
    fn oom_message_names_the_limit() {
        let o = CgroupOutcome {
            oom_killed: true,
            oom_kills: 1,
            ..Default::default()
        };
        assert_eq!(
            exit_message(&o, &plan(), Some(libc::SIGKILL)).as_deref(),
            Some("payload killed by the kernel OOM killer (memory limit 100 MiB)")
        );
        assert_eq!(
            exit_message(&o, &plan(), None).as_deref(),
            Some("the kernel OOM killer killed 1 process in the sandbox (memory limit 100 MiB)")
        );
    }

    #[test]
    fn pids_and_quiet_outcomes() {
        let o = CgroupOutcome {
            pids_limit_hit: true,
            pids_limit_hits: 3,
            ..Default::default()
        };
        assert_eq!(
            exit_message(&o, &plan(), None).as_deref(),
            Some("the sandbox hit its pids limit (64 processes): fork/clone failed 3 times")
        );
        assert_eq!(
            exit_message(&CgroupOutcome::default(), &plan(), Some(9)),
            None
        );
    }
}
