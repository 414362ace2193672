//! cgroup v2: preflight, leaf creation under the caller's cgroup, controller enabling with
//! the no-internal-processes rule, limit writes.

use super::detect::{UnifiedInfo, SUPERVISOR_LEAF};
use super::fs::CgroupFs;
use super::limits::{self, Knob, NotEnforced};
use super::CgroupError;
use crate::plan::ResourcePlan;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Controllers enabled when available even if no limit needs them, so the run report can
/// show peak memory and pids-limit hits. Failing to enable them is not an error.
const ACCOUNTING: &[&str] = &["memory", "pids"];

/// Split the plan's knobs into enforceable ones and what this cgroup cannot enforce.
pub fn preflight(info: &UnifiedInfo, plan: &ResourcePlan) -> (Vec<Knob>, Vec<NotEnforced>) {
    let mut ok = Vec::new();
    let mut missing = Vec::new();
    for k in limits::v2_knobs(plan) {
        if !info.writable {
            missing.push(NotEnforced {
                key: k.key,
                reason: format!(
                    "the caller's cgroup {} is not delegated to this user (not writable)",
                    info.base.display()
                ),
            });
        } else if !info.controllers.iter().any(|c| c == k.controller) {
            missing.push(NotEnforced {
                key: k.key,
                reason: format!(
                    "the `{}` controller is not available in {} (cgroup.controllers: {})",
                    k.controller,
                    info.base.display(),
                    if info.controllers.is_empty() {
                        "empty".to_string()
                    } else {
                        info.controllers.join(" ")
                    }
                ),
            });
        } else {
            ok.push(k);
        }
    }
    (ok, missing)
}

/// Move every process of `base` into the sibling leaf [`SUPERVISOR_LEAF`]: a non-root v2
/// cgroup with processes cannot enable controllers for its children. This is what systemd
/// and crun do with a delegated cgroup that still holds its own processes.
fn evacuate(fs: &dyn CgroupFs, base: &Path) -> Result<(), CgroupError> {
    let procs_file = base.join("cgroup.procs");
    let leaf = base.join(SUPERVISOR_LEAF);
    if !fs.exists(&leaf) {
        match fs.mkdir(&leaf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("mkdir", &leaf, e)),
        }
    }
    let target = leaf.join("cgroup.procs");
    // Processes can fork while we move them: a few rounds until the list is empty.
    for _ in 0..16 {
        let text = fs
            .read(&procs_file)
            .map_err(|e| CgroupError::io("read", &procs_file, e))?;
        let pids: Vec<&str> = text.split_whitespace().collect();
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            match fs.write(&target, pid) {
                // ESRCH: it exited meanwhile.
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(CgroupError::io("write", &target, e)),
            }
        }
    }
    Err(CgroupError::Busy {
        path: base.to_path_buf(),
    })
}

/// Enable `wanted` controllers in `base/cgroup.subtree_control` (those not yet enabled),
/// evacuating `base` first when needed. `optional` ones are attempted one by one and their
/// failures ignored.
fn enable_controllers(
    fs: &dyn CgroupFs,
    info: &UnifiedInfo,
    wanted: &BTreeSet<&str>,
    optional: &[&str],
) -> Result<(), CgroupError> {
    let base = &info.base;
    let control = base.join("cgroup.subtree_control");
    let enabled: BTreeSet<String> = fs
        .read(&control)
        .map_err(|e| CgroupError::io("read", &control, e))?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let todo: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|c| !enabled.contains(*c))
        .collect();
    let extra: Vec<&str> = optional
        .iter()
        .copied()
        .filter(|c| !enabled.contains(*c) && !wanted.contains(c))
        .filter(|c| info.controllers.iter().any(|a| a == c))
        .collect();
    if todo.is_empty() && extra.is_empty() {
        return Ok(());
    }
    // The root cgroup is exempt from the no-internal-processes rule.
    let is_root = base == &info.mount;
    if !is_root {
        let procs = fs
            .read(&base.join("cgroup.procs"))
            .map_err(|e| CgroupError::io("read", &base.join("cgroup.procs"), e))?;
        if !procs.trim().is_empty() {
            evacuate(fs, base)?;
        }
    }
    if !todo.is_empty() {
        let line: Vec<String> = todo.iter().map(|c| format!("+{c}")).collect();
        fs.write(&control, &line.join(" "))
            .map_err(|e| CgroupError::io("write", &control, e))?;
    }
    for c in extra {
        let _ = fs.write(&control, &format!("+{c}"));
    }
    Ok(())
}

/// Enable the controllers `knobs` need and create the (empty) leaf; the caller writes the
/// knobs (see `write_knobs` in mod.rs) and removes the leaf on failure.
pub fn create_leaf(
    fs: &dyn CgroupFs,
    info: &UnifiedInfo,
    knobs: &[Knob],
    leaf_name: &str,
) -> Result<PathBuf, CgroupError> {
    let wanted: BTreeSet<&str> = knobs.iter().map(|k| k.controller).collect();
    enable_controllers(fs, info, &wanted, ACCOUNTING)?;
    let leaf = info.base.join(leaf_name);
    fs.mkdir(&leaf)
        .map_err(|e| CgroupError::io("mkdir", &leaf, e))?;
    Ok(leaf)
}
