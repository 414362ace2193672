//! cgroup v1: one leaf per hierarchy the limits need (memory, cpu, pids, cpuset), plus the
//! accounting hierarchies (memory, cpuacct) when writable, under the caller's cgroup in each.

use super::detect::{CgroupLayout, V1Hierarchy};
use super::fs::CgroupFs;
use super::limits::{self, Knob, NotEnforced};
use super::CgroupError;
use crate::plan::ResourcePlan;
use std::path::{Path, PathBuf};

/// Hierarchies joined even without a limit, for the run report (peak memory, CPU time).
pub const ACCOUNTING: &[&str] = &["memory", "cpuacct"];

/// Every controller a v1 leaf is created for: those of [`limits::v1_knobs`] plus
/// [`ACCOUNTING`]. Garbage collection looks only in hierarchies with one of them.
pub const LEAF_CONTROLLERS: &[&str] = &["memory", "cpu", "cpuacct", "pids", "cpuset"];

/// Whether [`create_leaves`] can ever create a leaf in `h`.
pub fn may_hold_leaves(h: &V1Hierarchy) -> bool {
    LEAF_CONTROLLERS.iter().any(|c| h.has(c))
}

/// A leaf in one v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Leaf {
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

/// Split the plan's knobs into enforceable ones and what this host cannot enforce.
pub fn preflight(
    fs: &dyn CgroupFs,
    layout: &CgroupLayout,
    plan: &ResourcePlan,
) -> (Vec<Knob>, Vec<NotEnforced>) {
    let memsw = layout
        .v1_hierarchy("memory")
        .is_some_and(|h| fs.exists(&h.base.join("memory.memsw.limit_in_bytes")));
    let (knobs, mut missing) = limits::v1_knobs(plan, memsw);
    let mut ok = Vec::new();
    for k in knobs {
        match layout.v1_hierarchy(k.controller) {
            None => missing.push(NotEnforced {
                key: k.key,
                reason: format!(
                    "no cgroup v1 hierarchy with the `{}` controller is mounted",
                    k.controller
                ),
            }),
            Some(h) if !h.writable => missing.push(NotEnforced {
                key: k.key,
                reason: format!(
                    "the caller's `{}` cgroup {} is not writable (not delegated to this user)",
                    k.controller,
                    h.base.display()
                ),
            }),
            Some(_) => ok.push(k),
        }
    }
    (ok, missing)
}

/// The value of a cpuset file inherited from the nearest ancestor that has one: a fresh v1
/// cpuset cgroup starts with empty cpus/mems and refuses tasks until both are set.
fn inherited_cpuset(fs: &dyn CgroupFs, mount: &Path, base: &Path, file: &str) -> Option<String> {
    let mut dir = Some(base);
    while let Some(d) = dir {
        if let Ok(v) = fs.read(&d.join(file)) {
            let v = v.trim();
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
        if d == mount {
            break;
        }
        dir = d.parent();
    }
    None
}

/// Create the leaves the knobs need (and the accounting ones that are writable), with
/// cpuset cpus/mems filled in. On failure every leaf created is removed again.
pub fn create_leaves(
    fs: &dyn CgroupFs,
    layout: &CgroupLayout,
    knobs: &[Knob],
    leaf_name: &str,
) -> Result<Vec<V1Leaf>, CgroupError> {
    let mut leaves: Vec<V1Leaf> = Vec::new();
    let result = (|| {
        for h in &layout.v1 {
            let required = knobs.iter().any(|k| h.has(k.controller));
            let accounting = h.writable && ACCOUNTING.iter().any(|c| h.has(c));
            if !required && !accounting {
                continue;
            }
            let path = h.base.join(leaf_name);
            match fs.mkdir(&path) {
                Ok(()) => {}
                Err(e) if required => return Err(CgroupError::io("mkdir", &path, e)),
                Err(_) => continue,
            }
            leaves.push(V1Leaf {
                controllers: h.controllers.clone(),
                path: path.clone(),
            });
            if h.has("cpuset") {
                for file in ["cpuset.cpus", "cpuset.mems"] {
                    if knobs.iter().any(|k| k.file == file) {
                        continue;
                    }
                    let value = inherited_cpuset(fs, &h.mount, &h.base, file).ok_or_else(|| {
                        CgroupError::io(
                            "read",
                            &h.base.join(file),
                            std::io::Error::from_raw_os_error(libc::ENODATA),
                        )
                    })?;
                    let p = path.join(file);
                    fs.write(&p, &value)
                        .map_err(|e| CgroupError::io("write", &p, e))?;
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(leaves),
        Err(e) => {
            for l in &leaves {
                let _ = fs.rmdir(&l.path);
            }
            Err(e)
        }
    }
}
