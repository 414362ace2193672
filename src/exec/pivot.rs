//! The pivot phase, in the child: switch to the new root, drop the old one, then the
//! protections that must cover every mount made before (read-only root, masked and
//! read-only paths). After pivot_root, plain path lookups are confined to the new root.

use super::error::{Call, Ctx, Fail};
use super::mounts;
use super::prepare::Prepared;
use super::sandbox_paths;
use super::sys::{self, MOUNT_ATTR_RDONLY};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// pivot_root into `root` and detach the old root.
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one at `/`; the lazy
/// unmount of `.` then removes exactly that top mount, so no directory for the old root is
/// needed inside the sandbox (the technique runc uses).
pub fn pivot(root: RawFd) -> Result<(), Fail> {
    // SAFETY: fchdir/umount2/chdir on valid fds and NUL-terminated paths.
    sys::cvt(unsafe { libc::fchdir(root) }).ctx(Call::Chdir)?;
    sys::pivot_root(c".", c".").ctx(Call::PivotRoot)?;
    sys::cvt(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) }).ctx(Call::Umount2)?;
    sys::cvt(unsafe { libc::chdir(c"/".as_ptr()) }).ctx(Call::Chdir)?;
    sys::close(root);
    Ok(())
}

/// Remount the root read-only. Only the root mount: binds below keep their own flags.
pub fn root_read_only() -> Result<(), Fail> {
    let root = sandbox_paths::open(c"/", 0)?.ok_or(Fail::new(Call::Open, Errno::ENOENT))?;
    sys::mount_setattr_fd(root.0, false, MOUNT_ATTR_RDONLY).ctx(Call::MountSetattr)
}

/// Mask `prep.masked` (each with its prepared /dev/null clone). Each path is opened
/// without following any symlink ([`sandbox_paths`]): a link fails the launch.
pub fn mask_paths(prep: &mut Prepared) -> Result<(), Fail> {
    for k in 0..prep.masked.len() {
        let null = prep.mask_null_fds[k];
        prep.mask_null_fds[k] = -1;
        match sandbox_paths::open(&prep.masked[k], k) {
            Ok(Some(t)) => mounts::mask(t.0, null)?,
            Ok(None) => sys::close(null),
            Err(f) => {
                sys::close(null);
                return Err(f);
            }
        }
    }
    Ok(())
}

/// Bind each read-only path onto itself, read-only recursively (opened like the masked
/// paths).
pub fn read_only_paths(prep: &Prepared) -> Result<(), Fail> {
    for (k, p) in prep.read_only.iter().enumerate() {
        if let Some(t) = sandbox_paths::open(p, k)? {
            mounts::rebind_with(t.0, MOUNT_ATTR_RDONLY)?;
        }
    }
    Ok(())
}
