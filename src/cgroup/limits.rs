//! Pure translation of a [`ResourcePlan`] into cgroup knob writes, for v2 and v1, and the
//! list of what a version cannot express. No I/O: the writers in `v2.rs`/`v1.rs` apply the
//! knobs in the order given here.

use crate::plan::ResourcePlan;
use std::fmt;

/// One write into a cgroup knob file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knob {
    /// The controller owning the file (`memory`, `cpu`, `pids`, `io`, `cpuset`).
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
    /// The profile key (`[resources]`) that asked for it, for error messages.
    pub key: &'static str,
}

/// A limit the profile asked for that will not be enforced, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEnforced {
    pub key: &'static str,
    pub reason: String,
}

impl fmt::Display for NotEnforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resources.{}: {}", self.key, self.reason)
    }
}

/// The profile keys that are set in `plan`, with the controller each needs.
pub fn requested(plan: &ResourcePlan) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if plan.memory_max.is_some() {
        out.push(("memory", "memory"));
    }
    if plan.memory_high.is_some() {
        out.push(("memory-high", "memory"));
    }
    if plan.memory_swap_max.is_some() {
        out.push(("memory-swap", "memory"));
    }
    if plan.cpu_quota_us.is_some() {
        out.push(("cpu", "cpu"));
    }
    if plan.cpu_weight.is_some() {
        out.push(("cpu-weight", "cpu"));
    }
    if plan.pids_max.is_some() {
        out.push(("pids", "pids"));
    }
    if plan.io_weight.is_some() {
        out.push(("io-weight", "io"));
    }
    if plan.cpuset_cpus.is_some() {
        out.push(("cpuset-cpus", "cpuset"));
    }
    if plan.cpuset_mems.is_some() {
        out.push(("cpuset-mems", "cpuset"));
    }
    out
}

fn knob(controller: &'static str, file: &'static str, value: String, key: &'static str) -> Knob {
    Knob {
        controller,
        file,
        value,
        key,
    }
}

/// cgroup v2 writes, in order.
pub fn v2_knobs(plan: &ResourcePlan) -> Vec<Knob> {
    let mut k = Vec::new();
    if let Some(cpus) = &plan.cpuset_cpus {
        k.push(knob("cpuset", "cpuset.cpus", cpus.clone(), "cpuset-cpus"));
    }
    if let Some(mems) = &plan.cpuset_mems {
        k.push(knob("cpuset", "cpuset.mems", mems.clone(), "cpuset-mems"));
    }
    if let Some(v) = plan.memory_max {
        k.push(knob("memory", "memory.max", v.to_string(), "memory"));
    }
    if let Some(v) = plan.memory_high {
        k.push(knob("memory", "memory.high", v.to_string(), "memory-high"));
    }
    if let Some(v) = plan.memory_swap_max {
        k.push(knob(
            "memory",
            "memory.swap.max",
            v.to_string(),
            "memory-swap",
        ));
    }
    if let Some(q) = plan.cpu_quota_us {
        // cpu.max takes "$QUOTA $PERIOD" in one write.
        k.push(knob(
            "cpu",
            "cpu.max",
            format!("{q} {}", plan.cpu_period_us),
            "cpu",
        ));
    }
    if let Some(w) = plan.cpu_weight {
        k.push(knob("cpu", "cpu.weight", w.to_string(), "cpu-weight"));
    }
    if let Some(v) = plan.pids_max {
        k.push(knob("pids", "pids.max", v.to_string(), "pids"));
    }
    if let Some(w) = plan.io_weight {
        // "default N" sets the weight for every device without a per-device override.
        k.push(knob("io", "io.weight", format!("default {w}"), "io-weight"));
    }
    k
}

/// v1 cpu.shares for a v2-style weight. systemd's mapping (shares = weight * 1024 / 100) so
/// that the defaults correspond (weight 100 ↔ 1024 shares), clamped to the kernel's range.
pub fn weight_to_shares(weight: u64) -> u64 {
    (weight.saturating_mul(1024) / 100).clamp(2, 262_144)
}

/// cgroup v1 writes, in order, plus what v1 cannot express. `memsw_available`: the memory
/// hierarchy has `memory.memsw.*` (swap accounting enabled). cpuset values left unset are
/// filled from the parent by the writer (v1 cpuset refuses tasks while either is empty).
pub fn v1_knobs(plan: &ResourcePlan, memsw_available: bool) -> (Vec<Knob>, Vec<NotEnforced>) {
    let mut k = Vec::new();
    let mut missing = Vec::new();
    if let Some(cpus) = &plan.cpuset_cpus {
        k.push(knob("cpuset", "cpuset.cpus", cpus.clone(), "cpuset-cpus"));
    }
    if let Some(mems) = &plan.cpuset_mems {
        k.push(knob("cpuset", "cpuset.mems", mems.clone(), "cpuset-mems"));
    }
    if let Some(v) = plan.memory_max {
        k.push(knob(
            "memory",
            "memory.limit_in_bytes",
            v.to_string(),
            "memory",
        ));
    }
    if plan.memory_high.is_some() {
        missing.push(NotEnforced {
            key: "memory-high",
            reason: "memory.high has no cgroup v1 equivalent (soft_limit_in_bytes only \
                     applies under global memory pressure); it needs cgroup v2"
                .into(),
        });
    }
    if let Some(swap) = plan.memory_swap_max {
        match plan.memory_max {
            // v1 limits memory+swap together; the limit must be written after
            // memory.limit_in_bytes because the kernel requires memsw >= limit.
            Some(mem) if memsw_available => k.push(knob(
                "memory",
                "memory.memsw.limit_in_bytes",
                mem.saturating_add(swap).to_string(),
                "memory-swap",
            )),
            Some(_) => missing.push(NotEnforced {
                key: "memory-swap",
                reason: "swap accounting is off (no memory.memsw.limit_in_bytes); boot with \
                         swapaccount=1 or use cgroup v2"
                    .into(),
            }),
            None => missing.push(NotEnforced {
                key: "memory-swap",
                reason: "cgroup v1 limits memory+swap together, so a swap limit needs \
                         `memory` set too"
                    .into(),
            }),
        }
    }
    if let Some(q) = plan.cpu_quota_us {
        // Period first: the quota is interpreted against it.
        k.push(knob(
            "cpu",
            "cpu.cfs_period_us",
            plan.cpu_period_us.to_string(),
            "cpu",
        ));
        k.push(knob("cpu", "cpu.cfs_quota_us", q.to_string(), "cpu"));
    }
    if let Some(w) = plan.cpu_weight {
        k.push(knob(
            "cpu",
            "cpu.shares",
            weight_to_shares(w).to_string(),
            "cpu-weight",
        ));
    }
    if let Some(v) = plan.pids_max {
        k.push(knob("pids", "pids.max", v.to_string(), "pids"));
    }
    if plan.io_weight.is_some() {
        missing.push(NotEnforced {
            key: "io-weight",
            reason: "io.weight needs cgroup v2 (v1 blkio.weight only exists with the BFQ/CFQ \
                     scheduler and is not used by stockade)"
                .into(),
        });
    }
    (k, missing)
}

/// `100 MiB`, `1.5 GiB`, `512 bytes`: for messages.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {name}", n / size)
            } else {
                format!("{:.1} {name}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::Compat;

    pub(crate) fn plan() -> ResourcePlan {
        ResourcePlan {
            compat: Compat::Required,
            memory_max: None,
            memory_high: None,
            memory_swap_max: None,
            cpu_quota_us: None,
            cpu_period_us: 100_000,
            cpu_weight: None,
            pids_max: None,
            io_weight: None,
            cpuset_cpus: None,
            cpuset_mems: None,
        }
    }

    #[test]
    fn shares_keep_defaults_and_clamp() {
        assert_eq!(weight_to_shares(100), 1024);
        assert_eq!(weight_to_shares(1), 10);
        assert_eq!(weight_to_shares(10_000), 102_400);
        assert_eq!(weight_to_shares(0), 2);
        assert_eq!(weight_to_shares(u64::MAX), 262_144);
    }

    #[test]
    fn v1_swap_needs_memory_and_memsw() {
        let mut p = plan();
        p.memory_swap_max = Some(0);
        let (_, missing) = v1_knobs(&p, true);
        assert_eq!(missing[0].key, "memory-swap");
        p.memory_max = Some(100 << 20);
        let (k, missing) = v1_knobs(&p, true);
        assert!(missing.is_empty());
        assert_eq!(k[0].file, "memory.limit_in_bytes");
        assert_eq!(k[1].file, "memory.memsw.limit_in_bytes");
        assert_eq!(k[1].value, (100u64 << 20).to_string());
        let (_, missing) = v1_knobs(&p, false);
        assert!(missing[0].reason.contains("swapaccount"));
    }

    #[test]
    fn v1_cannot_express_memory_high_or_io_weight() {
        let mut p = plan();
        p.memory_high = Some(1 << 20);
        p.io_weight = Some(200);
        let (k, missing) = v1_knobs(&p, true);
        assert!(k.is_empty());
        let keys: Vec<_> = missing.iter().map(|m| m.key).collect();
        assert_eq!(keys, ["memory-high", "io-weight"]);
        assert!(missing[0]
            .to_string()
            .starts_with("resources.memory-high: "));
    }

    #[test]
    fn requested_lists_every_set_key() {
        let mut p = plan();
        assert!(requested(&p).is_empty());
        p.pids_max = Some(64);
        p.cpu_quota_us = Some(50_000);
        assert_eq!(requested(&p), [("cpu", "cpu"), ("pids", "pids")]);
    }

    #[test]
    fn bytes_are_formatted_for_humans() {
        assert_eq!(format_bytes(100 << 20), "100 MiB");
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes(512), "512 bytes");
    }
}
