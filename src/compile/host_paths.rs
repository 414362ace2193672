//! Host paths a profile names (bind sources, overlay layers, the root directory) that are,
//! or pass through, a symbolic link.
//!
//! The executor never follows a link in a host path (it opens each with
//! `RESOLVE_NO_SYMLINKS`): a sandbox that can write a directory another profile binds from
//! could otherwise plant `data -> /etc` and have the host's /etc mounted, while `plan` still
//! printed the path the profile wrote. This pass makes that visible before launch, at the
//! key that names the path: an error, unless the mount opts in with
//! `follow-symlinks = true`, in which case the plan carries the resolved path (what a
//! reviewer reads is what gets mounted) and the executor opens exactly that.
//!
//! The links come in as a host fact ([`HostFacts::host_links`], probed by
//! `crate::host_links`), so this stays pure.

use super::ctx::Ctx;
use crate::host::HostLink;
use crate::plan::{FollowedLink, MountOp, RootKind};
use std::path::PathBuf;

/// Check (and with `follow`, resolve) every host path of a mount.
pub fn resolve_mount(cx: &mut Ctx, key: &str, op: &mut MountOp, follow: bool) -> Vec<FollowedLink> {
    let mut followed = Vec::new();
    match op {
        MountOp::Bind { source, .. } => {
            resolve(cx, &format!("{key}.source"), source, follow, &mut followed);
        }
        MountOp::Overlay { lower, upper, work } => {
            for (i, l) in lower.iter_mut().enumerate() {
                resolve(cx, &format!("{key}.lower[{i}]"), l, follow, &mut followed);
            }
            for (name, p) in [("upper", upper), ("work", work)] {
                if let Some(p) = p {
                    resolve(cx, &format!("{key}.{name}"), p, follow, &mut followed);
                }
            }
        }
        _ => {}
    }
    followed
}

/// The root directory: no opt-in (a root filesystem is named once, by whoever prepared
/// it); a link in its path is an error that names the resolved path to write instead.
pub fn check_root(cx: &mut Ctx, kind: &RootKind) {
    if let RootKind::Directory { path } = kind {
        if let Some(l) = cx.host.host_links.get(path).cloned() {
            let help = match &l.resolved {
                Some(r) => format!(
                    "stockade does not follow links in host paths (one planted by a sandbox could redirect the root); write the real path: root = \"{}\"",
                    r.display()
                ),
                None => "the link leads to nothing that exists".into(),
            };
            cx.error(
                "filesystem.root",
                format!(
                    "`filesystem.root` {} passes through a symbolic link: {}",
                    path.display(),
                    describe(&l)
                ),
                Some(help),
            );
        }
    }
}

fn describe(l: &HostLink) -> String {
    format!("{} -> {}", l.link.display(), l.points_to.display())
}

fn resolve(
    cx: &mut Ctx,
    key: &str,
    path: &mut PathBuf,
    follow: bool,
    followed: &mut Vec<FollowedLink>,
) {
    let Some(l) = cx.host.host_links.get(path.as_path()).cloned() else {
        return;
    };
    match (&l.resolved, follow) {
        (Some(resolved), true) => {
            followed.push(FollowedLink {
                written: path.clone(),
                link: l.link.clone(),
                points_to: l.points_to.clone(),
                resolved: resolved.clone(),
            });
            *path = resolved.clone();
        }
        (None, _) => cx.error(
            key,
            format!(
                "`{key}` {} passes through a symbolic link that leads nowhere: {}",
                path.display(),
                describe(&l)
            ),
            Some("name an existing host path".into()),
        ),
        (Some(resolved), false) => cx.error(
            key,
            format!(
                "`{key}` {} {} a symbolic link: {}",
                path.display(),
                if l.link == *path { "is" } else { "passes through" },
                describe(&l)
            ),
            Some(format!(
                "stockade does not follow links in host paths: a sandbox that can write there could have planted it. Write the real path \"{}\", or set `follow-symlinks = true` on this mount to use what it points to now (`plan` then shows the resolved path)",
                resolved.display()
            )),
        ),
    }
}
