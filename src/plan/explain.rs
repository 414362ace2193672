//! Human-readable rendering of a Plan: step descriptions for error messages and the text
//! form of `stockade plan`.

use super::{MountOp, Plan, Step};
use std::fmt::Write;

/// One line describing a step, as used in `step 7/23 (bind /usr -> /usr, read-only)`.
pub fn describe_step(plan: &Plan, step: &Step) -> String {
    match step {
        Step::CreateCgroup => "create cgroup".into(),
        Step::WriteIdMaps => "write uid/gid maps".into(),
        Step::EnterCgroup => "enter cgroup".into(),
        Step::MakeMountsPrivate => "make mounts private".into(),
        Step::PrepareRoot => match &plan.root.kind {
            super::RootKind::Tmpfs => "new root: tmpfs".into(),
            super::RootKind::Directory { path } => format!("new root: bind {}", path.display()),
        },
        Step::Mount(i) => match plan.mounts.get(*i) {
            Some(m) => describe_mount(m),
            None => format!("mount #{i} (missing)"),
        },
        Step::PivotRoot => "pivot_root".into(),
        Step::RootReadOnly => "remount / read-only".into(),
        Step::MaskPaths => format!("mask {} paths", plan.masked_paths.len()),
        Step::ReadOnlyPaths => format!("read-only {} paths", plan.read_only_paths.len()),
        Step::SetHostname => format!("hostname {}", plan.hostname.as_deref().unwrap_or("")),
        Step::SetDomainname => {
            format!("domainname {}", plan.domainname.as_deref().unwrap_or(""))
        }
        Step::SetRlimits => "set rlimits".into(),
        Step::NewSession => "setsid".into(),
        Step::SetUmask => format!("umask {:04o}", plan.process.umask),
        Step::DropBoundingSet => "drop capability bounding set".into(),
        Step::SwitchUser => format!(
            "switch to uid {} gid {}",
            plan.process.uid, plan.process.gid
        ),
        Step::SetCapabilities => "set capabilities".into(),
        Step::Chdir => format!("chdir {}", plan.process.cwd.display()),
        Step::NoNewPrivs => "no_new_privs".into(),
        Step::Landlock => "landlock".into(),
        Step::SetNofileLimit => "set RLIMIT_NOFILE".into(),
        Step::Seccomp => "seccomp".into(),
        Step::Exec => format!(
            "execve {}",
            plan.process.argv.first().map(String::as_str).unwrap_or("")
        ),
    }
}

/// `bind /usr -> /usr, read-only`.
pub fn describe_mount(m: &super::MountPlan) -> String {
    let mut s = String::from(m.op.kind_name());
    match &m.op {
        MountOp::Bind { source, .. } => {
            let _ = write!(s, " {} -> {}", source.display(), m.target.display());
        }
        MountOp::Symlink { link } => {
            let _ = write!(s, " {} -> {}", m.target.display(), link);
        }
        _ => {
            let _ = write!(s, " {}", m.target.display());
        }
    }
    for (on, name) in [
        (m.flags.read_only, "read-only"),
        (m.flags.nosuid, "nosuid"),
        (m.flags.nodev, "nodev"),
        (m.flags.noexec, "noexec"),
    ] {
        if on {
            s.push_str(", ");
            s.push_str(name);
        }
    }
    s
}
