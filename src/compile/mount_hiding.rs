//! Mounts that cover earlier ones. Mounts are applied in order, so a later mount at or
//! above an earlier mount's target hides it: a tmpfs at `/tmp` after a bind under `/tmp`
//! leaves the bind unreachable, and two mounts whose targets coincide once variables are
//! expanded (`${PWD}` when run in `/tmp`) are stacked. Both are located warnings at `check`
//! (targets equal *as written* never get here: loading replaces an inherited mount with
//! such a one, and refuses two in one file); a Landlock path that only a hidden mount
//! provided, or one left in an empty tmpfs, is an error, since the run would fail opening it.

use super::Ctx;
use crate::diag::{Diagnostic, Span};
use crate::plan::{MountOp, MountPlan};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The targets of the mounts so far, each with its last mount's index (`mount[N]`).
#[derive(Default)]
pub struct Targets {
    by_target: BTreeMap<PathBuf, usize>,
}

impl Targets {
    /// Warn about every earlier mount that `plan` (at `mount[index]`) hides, then record it.
    pub fn add(&mut self, cx: &mut Ctx, index: usize, plan: &MountPlan) {
        // Paths order component by component, so everything beneath a target sorts right
        // after it: one range scan instead of a comparison with every earlier mount.
        let hidden: Vec<(PathBuf, usize)> = self
            .by_target
            .range(plan.target.clone()..)
            .take_while(|(t, _)| t.starts_with(&plan.target))
            .map(|(t, i)| (t.clone(), *i))
            .collect();
        for (target, i) in hidden {
            let (what, help) = if target == plan.target {
                (
                    format!(
                        "is stacked over the earlier mount[{i}] at the same target `{}`: only \
                         the later one is visible",
                        target.display()
                    ),
                    "the two targets differ as written and only coincide once variables are \
                     expanded (a mount whose target is written as an inherited one's replaces \
                     it; `[remove] mount` drops one); keep one mount per target if this is not \
                     meant",
                )
            } else {
                (
                    format!(
                        "hides the earlier mount[{i}] at `{}`, which lies beneath it",
                        target.display()
                    ),
                    "mounts apply in order: put the mount of the parent directory first",
                )
            };
            cx.warn(
                &format!("mount[{index}].target"),
                format!("`{}` {what}", plan.target.display()),
                Some(help.into()),
            );
            self.by_target.remove(&target);
        }
        self.by_target.insert(plan.target.clone(), index);
    }
}

/// A fresh filesystem: nothing beneath its target exists until something creates it.
fn is_fresh(m: &MountPlan) -> bool {
    matches!(
        m.op,
        MountOp::Tmpfs { .. }
            | MountOp::Proc { .. }
            | MountOp::Dev
            | MountOp::Devpts
            | MountOp::Mqueue
    )
}

/// For a Landlock path: the hidden mount that provided it and the fresh mount that hides
/// it, when the path lies beneath both (and so will not exist in the sandbox).
pub fn hidden_landlock_path(mounts: &[MountPlan], path: &Path) -> Option<(PathBuf, PathBuf)> {
    // The last mount covering the path decides what is there.
    let (last, covering) = mounts
        .iter()
        .enumerate()
        .rev()
        .find(|(_, m)| path.starts_with(&m.target))?;
    if !is_fresh(covering) || path == covering.target {
        return None;
    }
    let provider = mounts[..last]
        .iter()
        .rev()
        .find(|m| path.starts_with(&m.target) && m.target.starts_with(&covering.target))?;
    Some((provider.target.clone(), covering.target.clone()))
}

/// A `file`, `dir` or `symlink` mount creates its entry in whatever tree holds its target:
/// beneath a read-only mount that fails at run time with EROFS. Said at `check` instead.
pub fn check_created_entry(cx: &mut Ctx, index: usize, plan: &MountPlan, earlier: &[MountPlan]) {
    let creates = matches!(
        plan.op,
        MountOp::File { .. } | MountOp::Dir { .. } | MountOp::Symlink { .. }
    );
    if !creates {
        return;
    }
    let Some(holder) = earlier
        .iter()
        .rev()
        .find(|m| plan.target.starts_with(&m.target) && plan.target != m.target)
    else {
        return;
    };
    // Only a read-only bind is read-only from the moment it is attached (verified: EROFS).
    if holder.flags.read_only && matches!(holder.op, MountOp::Bind { .. }) {
        cx.error(
            &format!("mount[{index}].target"),
            format!(
                "`{}` cannot be created: it lies beneath `{}`, which an earlier {} mount makes \
                 read-only",
                plan.target.display(),
                holder.target.display(),
                holder.op.kind_name()
            ),
            Some(format!(
                "put it where the sandbox can write before the payload starts (a `tmpfs` \
                 directory of its own, e.g. under /run), or bind a host file over `{}` \
                 (type = \"bind\", read-only = true)",
                plan.target.display()
            )),
        );
    }
}

/// For a Landlock path (or the working directory) beneath a fresh tmpfs: the tmpfs, when
/// nothing mounted later creates the path (a tmpfs starts empty; only the parents of later
/// mount targets are created in it).
pub fn in_empty_tmpfs(mounts: &[MountPlan], path: &Path) -> Option<PathBuf> {
    let (last, covering) = mounts
        .iter()
        .enumerate()
        .rev()
        .find(|(_, m)| path.starts_with(&m.target))?;
    if !matches!(covering.op, MountOp::Tmpfs { .. }) || path == covering.target {
        return None;
    }
    let created = mounts[last + 1..]
        .iter()
        .any(|m| m.target.starts_with(path));
    (!created).then(|| covering.target.clone())
}

/// An inherited mount that `reset` or `[remove]` took away: a path only it provided is
/// reported at the entry that removed it, in the file the user wrote.
#[derive(Debug, Clone)]
pub struct RemovedMount {
    /// Its target as written (`${PWD}`).
    pub written: String,
    /// `removed` or `reset`.
    pub action: &'static str,
    /// The entry that took it away.
    pub by: Span,
}

impl RemovedMount {
    /// The removed mount whose target (expanded here) is or holds `path`.
    pub fn providing<'a>(
        removed: &'a [RemovedMount],
        cx: &Ctx,
        path: &Path,
    ) -> Option<&'a RemovedMount> {
        removed.iter().find(|r| {
            super::vars::expand(&r.written, cx.host)
                .ok()
                .filter(|t| t.starts_with('/'))
                .is_some_and(|t| path.starts_with(super::ctx::normalize(Path::new(&t))))
        })
    }

    /// `key` still names `raw` (= `path`), which only this mount provided.
    pub fn report(&self, cx: &mut Ctx, key: &str, raw: &str, path: &Path, help: String) {
        cx.push(
            Diagnostic::error(
                key,
                format!(
                    "`{key}` still names {raw:?} (`{}`), which nothing provides once the \
                     inherited mount of `{}` is {}",
                    path.display(),
                    self.written,
                    self.action
                ),
            )
            .at(self.by.clone())
            .help(help),
        );
    }
}
