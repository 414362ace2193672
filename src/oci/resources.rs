//! `ResourcePlan` ↔ `linux.resources`.
//!
//! Unit conversions, chosen so that the OCI runtime ends up writing the values stockade would:
//! - OCI `memory.swap` is memory + swap (the v1 `memsw` limit); stockade's swap limit is swap
//!   alone (v2 `memory.swap.max`). With a memory limit we write the sum; without one, OCI can
//!   only say it through `unified`.
//! - `memory.high` (a throttling threshold) has no OCI field: `reservation` is `memory.low` on
//!   cgroup v2 (runc, crun) and a soft limit on v1, a different thing. It goes to `unified`.
//! - cpu weight (v2, 1..10000) → `shares` (v1, 2..262144). runc and crun convert shares back
//!   with `1 + ((shares - 2) * 9999) / 262142`; [`weight_to_shares`] is its exact inverse.
//! - io weight (v2, 1..10000) → `unified["io.weight"]`: `blockIO.weight` is the v1 blkio
//!   range 10..1000, which cannot hold most v2 weights (runc maps 10..1000 onto 1..10000).
//!
//! `unified` only works on cgroup v2; on a v1 host the runtime refuses it (fail closed, as
//! stockade itself does for these v2-only limits under `compat = "required"`).
//!
//! `cgroupsPath` is left unset on purpose: the runtime then uses a path derived from the
//! container id, one cgroup per container, like stockade's per-sandbox leaf. A fixed path
//! would make every container started from the bundle share one set of limits.

use super::OciError;
use crate::plan::ResourcePlan;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};
use std::collections::HashMap;

/// cpu weight (cgroup v2) → shares (cgroup v1), the inverse of the runtimes' conversion.
pub(super) fn weight_to_shares(weight: u64) -> u64 {
    let w = weight.clamp(1, 10_000);
    2 + ((w - 1) * 262_142).div_ceil(9_999)
}

/// shares → cpu weight, as runc and crun compute it.
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9_999) / 262_142
}

/// blkio weight (v1, 10..1000) → io weight (v2), as runc computes it.
pub(super) fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10) * 9_999) / 990
}

fn signed(what: &str, v: u64) -> Result<i64, OciError> {
    i64::try_from(v).map_err(|_| OciError::Export {
        what: format!("resources.{what} = {v}"),
        reason: "the value does not fit OCI's signed 64-bit field".into(),
    })
}

fn build_err(what: &str, e: impl std::fmt::Display) -> OciError {
    OciError::Export {
        what: format!("resources.{what}"),
        reason: e.to_string(),
    }
}

pub(super) fn map_resources(r: &ResourcePlan) -> Result<LinuxResources, OciError> {
    let mut unified = HashMap::new();
    let mut builder = LinuxResourcesBuilder::default();

    let mut memory = LinuxMemoryBuilder::default();
    let mut any_memory = false;
    if let Some(max) = r.memory_max {
        memory = memory.limit(signed("memory", max)?);
        any_memory = true;
    }
    if let Some(swap) = r.memory_swap_max {
        match r.memory_max {
            Some(max) => {
                let total = max.checked_add(swap).ok_or_else(|| OciError::Export {
                    what: "resources.memory-swap".into(),
                    reason: "memory + swap overflows".into(),
                })?;
                memory = memory.swap(signed("memory-swap", total)?);
                any_memory = true;
            }
            None => {
                unified.insert("memory.swap.max".to_string(), swap.to_string());
            }
        }
    }
    if any_memory {
        builder = builder.memory(memory.build().map_err(|e| build_err("memory", e))?);
    }
    if let Some(high) = r.memory_high {
        unified.insert("memory.high".to_string(), high.to_string());
    }

    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(quota) = r.cpu_quota_us {
        cpu = cpu
            .quota(signed("cpu-quota", quota)?)
            .period(r.cpu_period_us);
        any_cpu = true;
    }
    if let Some(weight) = r.cpu_weight {
        cpu = cpu.shares(weight_to_shares(weight));
        any_cpu = true;
    }
    if let Some(cpus) = &r.cpuset_cpus {
        cpu = cpu.cpus(cpus.clone());
        any_cpu = true;
    }
    if let Some(mems) = &r.cpuset_mems {
        cpu = cpu.mems(mems.clone());
        any_cpu = true;
    }
    if any_cpu {
        builder = builder.cpu(cpu.build().map_err(|e| build_err("cpu", e))?);
    }

    if let Some(pids) = r.pids_max {
        let pids = LinuxPidsBuilder::default()
            .limit(signed("pids", pids)?)
            .build()
            .map_err(|e| build_err("pids", e))?;
        builder = builder.pids(pids);
    }
    if let Some(io) = r.io_weight {
        unified.insert("io.weight".to_string(), io.to_string());
    }
    if !unified.is_empty() {
        builder = builder.unified(unified);
    }
    builder.build().map_err(|e| build_err("", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_to_shares_is_the_exact_inverse_of_the_runtimes_conversion() {
        for w in 1..=10_000 {
            let s = weight_to_shares(w);
            assert!((2..=262_144).contains(&s), "weight {w} -> shares {s}");
            assert_eq!(shares_to_weight(s), w, "weight {w} -> shares {s}");
        }
    }

    #[test]
    fn blkio_conversion_matches_runc() {
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(blkio_to_io_weight(500), 4_950);
    }
}
