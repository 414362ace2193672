//! Mounts that would undo the sandbox: anything stacked on the sandbox's root, and writable
//! binds of sensitive host directories or over directories an earlier mount made read-only.
//!
//! `builtin:strict` binds `${PWD}` read-write, so these rules are what keep the default safe
//! when it is started from `/` or from the home directory. All facts come from `HostFacts`
//! (`home`, `cwd` via `${PWD}`): the check stays pure.

use super::Ctx;
use crate::plan::{MountOp, MountPlan};
use crate::profile::mount::Mount;
use std::path::Path;

/// Directories whose whole tree belongs to the system: a writable bind of them, of anything
/// inside them or of an ancestor lets the payload change what the host runs.
const SYSTEM_TREES: [&str; 9] = [
    "/usr", "/etc", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Directories that hold other users' or the system's data, though a subdirectory may be
/// fine to bind (a project under /home/alice, a build directory under /var/tmp): only they
/// and their ancestors count.
const SYSTEM_DIRS: [&str; 11] = [
    "/var", "/root", "/home", "/opt", "/srv", "/run", "/dev", "/proc", "/sys", "/mnt", "/media",
];

/// Why binding `source` writable is dangerous, or `None` when it is not.
pub fn sensitive_source(source: &Path, home: &Path) -> Option<String> {
    if source == Path::new("/") {
        return Some("the host's root directory".into());
    }
    if source == home {
        return Some("the home directory".into());
    }
    if home.starts_with(source) {
        return Some(format!(
            "an ancestor of the home directory `{}`",
            home.display()
        ));
    }
    for t in SYSTEM_TREES {
        if source.starts_with(t) {
            return Some(format!("the system directory `{t}`"));
        }
    }
    for d in SYSTEM_TREES.iter().chain(SYSTEM_DIRS.iter()) {
        if Path::new(d).starts_with(source) {
            return Some(format!("an ancestor of the system directory `{d}`"));
        }
        if *d == source.as_os_str() {
            return Some(format!("the system directory `{d}`"));
        }
    }
    None
}

/// Check one compiled mount (`plan`, written as `m` at `key`) against the mounts before it.
pub fn check(cx: &mut Ctx, key: &str, m: &Mount, plan: &MountPlan, earlier: &[MountPlan]) {
    let name = plan.op.kind_name();
    // The other mount types are refused at `/` by the filesystem compiler itself.
    let stackable = matches!(
        plan.op,
        MountOp::Bind { .. } | MountOp::Tmpfs { .. } | MountOp::Overlay { .. }
    );
    if stackable && plan.target == Path::new("/") {
        let from_pwd = m.source.as_deref().is_some_and(|s| s.contains("${PWD}"));
        let help = if from_pwd {
            "this mount binds the current directory, and it is `/`: run stockade from a project \
             directory, or name a profile that fits (`stockade run PROFILE -- CMD`)"
                .to_string()
        } else {
            "to run on a host directory as the root, set `filesystem.root` to it; to add files, \
             mount them at a path below `/`"
                .to_string()
        };
        cx.error(
            &format!("{key}.target"),
            format!(
                "a {name} mount onto `/` would be stacked on the sandbox's root: `/..` and \
                 `/proc/self/root/..` would lead into it, whatever Landlock allows"
            ),
            Some(help),
        );
    }
    let MountOp::Bind { source, .. } = &plan.op else {
        return;
    };
    // A bind without a (valid) source is already an error; its placeholder path says nothing.
    if plan.flags.read_only || m.source.is_none() || source.as_os_str().is_empty() {
        return;
    }
    let allowed = m.allow_dangerous_write.unwrap_or(false);
    let report = |cx: &mut Ctx, at: &str, message: String, help: String| {
        if allowed {
            cx.warn(
                at,
                format!("{message} (allowed by `{key}.allow-dangerous-write`)"),
                None,
            );
        } else {
            cx.error(at, message, Some(help));
        }
    };
    if let Some(why) = sensitive_source(source, &cx.host.home) {
        let from_pwd = m.source.as_deref().is_some_and(|s| s.contains("${PWD}"));
        let what = if from_pwd {
            format!(
                "`{key}` binds the current directory `{}` read-write, and it is {why}",
                source.display()
            )
        } else {
            format!(
                "`{key}` binds `{}` read-write, and it is {why}",
                source.display()
            )
        };
        let help = if from_pwd {
            "the payload could change files the host runs later (shell start-up files, system \
             configuration); run stockade from the project directory, name a profile that \
             binds only what it needs, or set `allow-dangerous-write = true` on this mount"
        } else {
            "the payload could change files the host runs later; bind a narrower directory, \
             add `read-only = true`, or set `allow-dangerous-write = true` on this mount if \
             you mean it"
        };
        report(cx, &format!("{key}.source"), what, help.into());
    }
    // Onto `/` every earlier mount is covered; that is already an error above.
    for e in earlier.iter().filter(|_| plan.target != Path::new("/")) {
        if e.flags.read_only && e.target.starts_with(&plan.target) && e.target != plan.target {
            report(
                cx,
                &format!("{key}.target"),
                format!(
                    "the writable bind at `{}` covers `{}`, which an earlier {} mount made \
                     read-only: the host's `{}` would be writable in its place",
                    plan.target.display(),
                    e.target.display(),
                    e.op.kind_name(),
                    source
                        .join(e.target.strip_prefix(&plan.target).unwrap_or(&e.target))
                        .display()
                ),
                "bind a narrower directory, move this mount before the read-only one, or set \
                 `allow-dangerous-write = true` on this mount"
                    .into(),
            );
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sensitive_source;
    use std::path::Path;

    #[test]
    fn sensitive_sources() {
        let home = Path::new("/home/dev");
        for s in [
            "/",
            "/home",
            "/home/dev",
            "/usr",
            "/usr/local/bin",
            "/etc/cron.d",
            "/var",
        ] {
            assert!(sensitive_source(Path::new(s), home).is_some(), "{s}");
        }
        for s in [
            "/home/dev/src/project",
            "/var/tmp/build",
            "/tmp/x",
            "/srv/www/site",
        ] {
            assert!(sensitive_source(Path::new(s), home).is_none(), "{s}");
        }
    }
}
