//! Paths inside the sandbox that the child protects after pivot_root: masked paths,
//! read-only paths and protected paths. Each is opened once, with
//! `openat2(RESOLVE_NO_SYMLINKS)`, and the protection is mounted on that fd.
//!
//! Why no symlinks at all, when mount targets (`mounts`) are resolved with
//! `RESOLVE_IN_ROOT` and may follow links inside the root: after pivot_root every lookup
//! is already confined to the new root, so `RESOLVE_IN_ROOT` would add nothing here. The
//! danger is a link *inside* the root, planted by another sandbox in a writable tree both
//! share (`/shared/conf -> /shared/scratch`): followed, it would put the read-only bind or
//! the mask on a different path and leave the one the profile named writable or visible,
//! while the run report says it is protected. A mount target that follows a link still
//! gets a mount where the link leads and the profile's own tree stays intact; a
//! protection that follows one silently protects the wrong thing. So these lists are
//! walked without following any link, including the profile's own (`/lib -> usr/lib`): a
//! path through a link fails the launch, naming the path, and the profile names the real
//! path instead. A missing masked or read-only path is still skipped (the profile masks
//! what exists); a missing protected path is an error (it was made to exist before the
//! clone).
//!
//! The child part allocates nothing: it reports the list index in [`Fail::at`]; the parent
//! ([`describe`]) turns it back into the path.

use super::error::{record_kind, Call, ExecError, Fail, Record};
use super::mounts::Fd;
use super::prepare::Prepared;
use super::sys;
use crate::plan::{explain::describe_step, Plan, Step};
use nix::errno::Errno;
use std::ffi::CStr;

/// Child: open entry `index` of a step's list, an absolute path in the sandbox (the
/// process root is the new root), as O_PATH without following any symlink. `None` when
/// it does not exist.
pub fn open(path: &CStr, index: usize) -> Result<Option<Fd>, Fail> {
    match sys::open_no_symlinks(libc::AT_FDCWD, path, libc::O_PATH) {
        Ok(fd) => Ok(Some(Fd(fd))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(Fail::new(Call::SandboxPath, e).at(index)),
    }
}

/// Parent: the error for a child's failure record that names one of these paths, or
/// None for any other record.
pub fn describe(plan: &Plan, prep: &Prepared, rec: &Record) -> Option<ExecError> {
    if rec.kind != record_kind::FAILED || rec.call != Call::SandboxPath as u32 {
        return None;
    }
    let step = plan.steps.get(rec.step as usize)?;
    let k = rec.data2 as usize;
    let (key, path) = match step {
        Step::MaskPaths => ("filesystem.masked-paths", prep.masked.get(k)?),
        Step::ReadOnlyPaths => ("filesystem.read-only-paths", prep.read_only.get(k)?),
        Step::ProtectPaths => {
            let n = prep.protected_file_binds.len();
            match k.checked_sub(n) {
                None => ("a writable file bind", prep.protected_file_binds.get(k)?),
                Some(j) => ("protected path", prep.protected.get(j)?),
            }
        }
        _ => return None,
    };
    let errno = Errno::from_raw(rec.errno);
    let why = match errno {
        Errno::ELOOP => {
            "it is, or passes through, a symbolic link; stockade does not follow links here \
             (a sandbox sharing a writable directory could have planted it, and the protection \
             would cover another path): name the path without links"
        }
        Errno::ENOENT => "it no longer exists",
        _ => "cannot be opened",
    };
    Some(ExecError::Step {
        index: rec.step as usize + 1,
        total: plan.steps.len(),
        desc: describe_step(plan, step),
        call: format!(
            "{key} {}: {why}; {}",
            path.to_string_lossy(),
            Call::SandboxPath.name()
        ),
        errno,
    })
}
