//! Which host paths of a plan are, or pass through, a symbolic link: the host fact behind
//! `compile::host_paths` (bind sources, overlay layers and the root directory must not go
//! through links the profile did not opt into).
//!
//! [`compile_on_host`] compiles once, probes the plan's host paths (one `openat2` with
//! RESOLVE_NO_SYMLINKS each; a component walk only for a path that has a link), and only
//! when one has a link compiles again with the links as a fact, so the compiler stays pure
//! and the common case costs one syscall per host path.

use crate::compile::{compile, CompileOptions, Compiled};
use crate::diag::Diagnostics;
use crate::host::{HostFacts, HostLink};
use crate::plan::{MountOp, Plan, RootKind};
use crate::profile::load::Loaded;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Compile `loaded` with the host's links in the plan's host paths known.
pub fn compile_on_host(
    loaded: &Loaded,
    host: &HostFacts,
    opts: &CompileOptions,
) -> Result<Compiled, Diagnostics> {
    let first = compile(loaded, host, opts)?;
    let links = probe(&host_paths(&first.plan));
    if links.is_empty() {
        return Ok(first);
    }
    let mut host = host.clone();
    host.host_links = links;
    compile(loaded, &host, opts)
}

/// The host paths a plan opens: bind sources, overlay layers, the root directory.
pub fn host_paths(plan: &Plan) -> Vec<&Path> {
    let mut out = Vec::new();
    if let RootKind::Directory { path } = &plan.root.kind {
        out.push(path.as_path());
    }
    for m in &plan.mounts {
        match &m.op {
            MountOp::Bind { source, .. } => out.push(source.as_path()),
            MountOp::Overlay { lower, upper, work } => {
                out.extend(lower.iter().map(PathBuf::as_path));
                out.extend(upper.as_deref());
                out.extend(work.as_deref());
            }
            _ => {}
        }
    }
    out
}

/// The links among `paths` (paths without one are left out).
pub fn probe(paths: &[&Path]) -> BTreeMap<PathBuf, HostLink> {
    paths
        .iter()
        .filter_map(|p| Some((p.to_path_buf(), probe_one(p)?)))
        .collect()
}

/// `Some` when `p` is, or passes through, a symlink. A path that is missing or cannot be
/// read is `None`: the executor reports that one, at the mount.
pub fn probe_one(p: &Path) -> Option<HostLink> {
    let c = CString::new(p.as_os_str().as_bytes()).ok()?;
    match crate::exec::sys::open_no_symlinks(libc::AT_FDCWD, &c, libc::O_PATH) {
        Ok(fd) => {
            crate::exec::sys::close(fd);
            return None;
        }
        Err(nix::errno::Errno::ELOOP) => {}
        Err(_) => return None,
    }
    let mut acc = PathBuf::from("/");
    for comp in p.components().skip(1) {
        acc.push(comp);
        let meta = std::fs::symlink_metadata(&acc).ok()?;
        if meta.file_type().is_symlink() {
            return Some(HostLink {
                link: acc.clone(),
                points_to: std::fs::read_link(&acc).ok()?,
                resolved: std::fs::canonicalize(p).ok(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_finds_the_first_link_and_resolves_the_path() {
        let dir = std::env::temp_dir().join(format!("stockade-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
        let dir = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(probe_one(&dir.join("real/sub")), None);
        let l = probe_one(&dir.join("link/sub")).unwrap();
        assert_eq!(l.link, dir.join("link"));
        assert_eq!(l.points_to, PathBuf::from("real"));
        assert_eq!(l.resolved, Some(dir.join("real/sub")));
        std::os::unix::fs::symlink("nowhere", dir.join("dangling")).unwrap();
        assert_eq!(probe_one(&dir.join("dangling")).unwrap().resolved, None);
        assert_eq!(probe_one(&dir.join("missing")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
