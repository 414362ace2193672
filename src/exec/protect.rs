//! Protected paths inside writable binds (`plan.protected_paths`): made read-only and not
//! creatable, as a required step (never best-effort, independent of Landlock).
//!
//! * Before the clone (parent, [`resolve`]): the superproject's `.git/hooks` and
//!   `.git/config` are joined by those of each git submodule found under `.git/modules`
//!   (`exec::submodules`). Each path is walked from its bind's source one
//!   component at a time without following symlinks. An existing entry is protected as it
//!   is; a missing one gets an empty placeholder (a directory, or an empty file) at its
//!   first missing component, so there is a mount point to cover; a symlink is refused (a
//!   mount would protect its target, while the link itself could be replaced); a file where
//!   a directory was expected (`.git` of a worktree) is protected itself.
//! * In the child, after every mount ([`protect_paths`]): each is bound onto itself
//!   read-only. A mount point cannot be unlinked or renamed (EBUSY), so a protected name
//!   can neither be replaced nor created.
//! * After the run ([`Placeholders::remove`]): the placeholders this run created are removed,
//!   through the directory fds opened before the clone and only if they are still the same
//!   empty inode, and only when no other run in the same tree still holds one of them (each
//!   run holds a shared `flock` on every protected entry while it runs; removal takes an
//!   exclusive one without waiting). A host-side path lookup after the payload ran would
//!   follow whatever it planted.

use super::error::{Call, Fail};
use super::mounts;
use super::prepare::Prepared;
use super::sandbox_paths;
use super::sys::{self, MOUNT_ATTR_RDONLY};
use super::ExecError;
use crate::plan::Plan;
use nix::errno::Errno;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One protected entry this run holds (shared lock) while it runs.
struct Held {
    /// The directory that holds it (O_PATH, opened without following links).
    parent: OwnedFd,
    name: CString,
    /// The entry itself, with a shared flock; `None` when it cannot be opened for reading.
    entry: Option<OwnedFd>,
    /// This run made it as a placeholder (and removes it afterwards).
    created: bool,
    dir: bool,
}

/// What [`resolve`] set up on the host; [`Placeholders::remove`] undoes it.
#[derive(Default)]
pub struct Placeholders {
    held: Vec<Held>,
    /// Sandbox paths of writable binds whose source was a file when resolved.
    pub file_binds: Vec<CString>,
}

fn refuse(path: &Path, reason: impl Into<String>) -> ExecError {
    ExecError::Protect {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn cstr(path: &Path, s: &OsStr) -> Result<CString, ExecError> {
    CString::new(s.as_bytes()).map_err(|_| refuse(path, "contains a NUL byte"))
}

fn stat_at(dir: &OwnedFd, name: &CString) -> Result<Option<libc::stat>, Errno> {
    // SAFETY: zeroed stat is a valid out buffer; NUL-terminated name; valid dirfd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    match sys::cvt(r) {
        Ok(_) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn open_at(dir: &OwnedFd, name: &CString, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: valid dirfd, NUL-terminated name; the fd returned is ours.
    let fd = sys::cvt(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o644,
        )
    })?;
    // SAFETY: a fresh fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn is(st: &libc::stat, kind: libc::mode_t) -> bool {
    st.st_mode & libc::S_IFMT == kind
}

/// Make sure every protected path exists on the host, and return their paths inside the
/// sandbox for [`protect_paths`], with what to undo after the run.
pub fn resolve(plan: &Plan) -> Result<(Vec<CString>, Placeholders), ExecError> {
    let mut out = Placeholders::default();
    let mut paths: Vec<PathBuf> = Vec::new();
    // The superproject's entries, then the same entries of each submodule found now.
    let mut all = plan.protected_paths.clone();
    for p in &plan.protected_paths {
        match super::submodules::entries_for(p) {
            Ok(more) => all.extend(more),
            Err(super::submodules::TooMany(at)) => {
                return Err(refuse(
                    &at,
                    format!(
                        "more than {} git submodule directories, or nesting deeper than {} \
                         levels, to protect below .git/modules; \
                         opt out with `filesystem.unprotected = [\"{}\"]` if this tree is trusted",
                        super::submodules::MAX_SUBMODULES,
                        super::submodules::MAX_DEPTH,
                        p.name
                    ),
                ))
            }
        }
    }
    for p in &all {
        match resolve_one(p, &mut out) {
            Ok(Some(path)) => {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
            Ok(None) => {}
            Err(e) => {
                out.remove();
                return Err(e);
            }
        }
    }
    let mut c = Vec::with_capacity(paths.len());
    for p in &paths {
        c.push(cstr(p, p.as_os_str())?);
    }
    Ok((c, out))
}

fn resolve_one(
    p: &crate::plan::ProtectedPath,
    out: &mut Placeholders,
) -> Result<Option<PathBuf>, ExecError> {
    let depth = p.rel.components().count();
    let Some(source) = p.host.ancestors().nth(depth) else {
        return Ok(None);
    };
    let target_root = p.path.ancestors().nth(depth).unwrap_or(Path::new("/"));
    let src = cstr(source, source.as_os_str())?;
    // Opened like the mount step opens the bind's source: without following any link
    // (a link there was refused when the plan was made; one now was planted since).
    let fd = sys::open_no_symlinks(
        libc::AT_FDCWD,
        &src,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
    );
    let mut dir = match fd {
        // SAFETY: a fresh fd nobody else owns.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        // An optional bind whose source is missing: nothing to protect.
        Err(Errno::ENOENT) => return Ok(None),
        // A file bind (`/dev/null`): there is nothing inside it. The child checks that
        // what got mounted there is still not a directory.
        Err(Errno::ENOTDIR) => {
            out.file_binds
                .push(cstr(target_root, target_root.as_os_str())?);
            return Ok(None);
        }
        Err(Errno::ELOOP) => {
            return Err(refuse(
                source,
                "the bind source passes through a symbolic link that appeared after the plan \
                 was made; stockade does not follow links in host paths",
            ))
        }
        Err(e) => return Err(refuse(source, format!("opening the bind source: {e}"))),
    };
    let comps: Vec<&OsStr> = p.rel.iter().collect();
    let mut rel = PathBuf::new();
    for (k, comp) in comps.iter().enumerate() {
        rel.push(comp);
        let here = source.join(&rel);
        let name = cstr(&here, comp)?;
        let last = k + 1 == comps.len();
        let st = stat_at(&dir, &name).map_err(|e| refuse(&here, format!("fstatat: {e}")))?;
        let (created, entry_is_dir) = match st {
            None => {
                // A directory where something is missing on the way, or the entry's kind.
                let make_dir = !last || p.dir;
                let r = if make_dir {
                    // SAFETY: valid dirfd and NUL-terminated name.
                    sys::cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o755) })
                        .map(drop)
                } else {
                    open_at(&dir, &name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL).map(drop)
                };
                r.map_err(|e| refuse(&here, format!("creating an empty placeholder: {e}")))?;
                (true, make_dir)
            }
            Some(st) if is(&st, libc::S_IFLNK) => {
                return Err(refuse(
                    &here,
                    format!(
                        "is a symbolic link, which stockade cannot protect (a read-only mount \
                         would cover its target, not the link); remove it, or opt out with \
                         `filesystem.unprotected = [\"{}\"]`",
                        p.name
                    ),
                ))
            }
            Some(st) if is(&st, libc::S_IFDIR) && !last => {
                dir = open_at(&dir, &name, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(|e| refuse(&here, format!("open: {e}")))?;
                continue;
            }
            Some(st) => (false, is(&st, libc::S_IFDIR)),
        };
        // Held open with a shared lock while the sandbox runs (see the module docs).
        let flags = if entry_is_dir {
            libc::O_RDONLY | libc::O_DIRECTORY
        } else {
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY
        };
        let entry = open_at(&dir, &name, flags).ok();
        if let Some(e) = &entry {
            // SAFETY: flock on an fd we own.
            unsafe { libc::flock(e.as_raw_fd(), libc::LOCK_SH) };
        }
        out.held.push(Held {
            parent: dir,
            name,
            entry,
            created,
            dir: entry_is_dir,
        });
        return Ok(Some(target_root.join(rel)));
    }
    Ok(None)
}

impl Placeholders {
    /// Remove the placeholders this run created, unless another run still holds them or
    /// something was put into them.
    pub fn remove(&mut self) {
        for h in self.held.drain(..).rev() {
            let Some(entry) = h.entry.as_ref().filter(|_| h.created) else {
                continue;
            };
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(entry.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                continue;
            }
            // SAFETY: zeroed stat is a valid out buffer.
            let mut ours: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: fstat on an fd we own.
            if unsafe { libc::fstat(entry.as_raw_fd(), &mut ours) } != 0 {
                continue;
            }
            let same = matches!(stat_at(&h.parent, &h.name), Ok(Some(now))
                if now.st_dev == ours.st_dev && now.st_ino == ours.st_ino);
            if !same || (!h.dir && ours.st_size != 0) {
                continue;
            }
            let flag = if h.dir { libc::AT_REMOVEDIR } else { 0 };
            // SAFETY: valid dirfd and NUL-terminated name. A directory that is not empty
            // stays (rmdir fails).
            unsafe { libc::unlinkat(h.parent.as_raw_fd(), h.name.as_ptr(), flag) };
        }
    }
}

/// The child's step: bind each protected path onto itself read-only. Every path is
/// opened without following any symlink ([`sandbox_paths`]): a link planted in the
/// writable tree after [`resolve`] (in any component, not only the last) fails the launch
/// instead of moving the protection elsewhere. Failures carry the index into
/// `protected_file_binds` followed by `protected`.
pub fn protect_paths(prep: &Prepared) -> Result<(), Fail> {
    let n = prep.protected_file_binds.len();
    for (k, t) in prep.protected_file_binds.iter().enumerate() {
        // Skipped before the clone as a file; a directory mounted there now means the
        // source was swapped in between, and its contents would go unprotected.
        let fd =
            sandbox_paths::open(t, k)?.ok_or(Fail::new(Call::SandboxPath, Errno::ENOENT).at(k))?;
        // SAFETY: zeroed stat is a valid out buffer; fstat on an fd we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        sys::cvt(unsafe { libc::fstat(fd.0, &mut st) }).map_err(|e| Fail::new(Call::Open, e))?;
        if is(&st, libc::S_IFDIR) {
            return Err(Fail::new(Call::Open, Errno::EISDIR));
        }
    }
    for (k, p) in prep.protected.iter().enumerate() {
        // Made to exist before the clone: missing now means the tree changed under us.
        let fd = sandbox_paths::open(p, n + k)?
            .ok_or(Fail::new(Call::SandboxPath, Errno::ENOENT).at(n + k))?;
        mounts::rebind_with(fd.0, MOUNT_ATTR_RDONLY)?;
    }
    Ok(())
}
