//! The parent's explanation of a host path the child refused because it is, or passes
//! through, a symbolic link (ELOOP from `openat2(RESOLVE_NO_SYMLINKS)`).
//!
//! The compiler already rejects links it can see when the plan is made
//! (`compile::host_paths`); reaching this means the link appeared between planning and
//! launch: exactly the swap a sandbox sharing the directory would make. The child only
//! reports an errno, so the parent looks again at the step's host paths to say which one is
//! a link now and where it points.

use crate::host_links::probe_one;
use crate::plan::{MountOp, Plan, RootKind, Step};
use std::path::Path;

/// `openat2(2) of /shared/data (RESOLVE_NO_SYMLINKS): it is now a symbolic link ...`, or
/// None when the step has no host path with a link (the link went away again).
pub fn describe(plan: &Plan, step: &Step) -> Option<String> {
    let paths: Vec<&Path> = match step {
        Step::Mount(i) => match &plan.mounts.get(*i)?.op {
            MountOp::Bind { source, .. } => vec![source.as_path()],
            MountOp::Overlay { lower, upper, work } => lower
                .iter()
                .map(|p| p.as_path())
                .chain(upper.as_deref())
                .chain(work.as_deref())
                .collect(),
            _ => Vec::new(),
        },
        Step::PrepareRoot => match &plan.root.kind {
            RootKind::Directory { path } => vec![path.as_path()],
            RootKind::Tmpfs => Vec::new(),
        },
        _ => Vec::new(),
    };
    paths.into_iter().find_map(|p| {
        let l = probe_one(p)?;
        Some(format!(
            "openat2(2) of {} with RESOLVE_NO_SYMLINKS: it passes through a symbolic link, {} -> {}, which appeared after the plan was made; stockade does not follow links in host paths (a sandbox that can write there could have planted it)",
            p.display(),
            l.link.display(),
            l.points_to.display()
        ))
    })
}
