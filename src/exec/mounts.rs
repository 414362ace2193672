//! The mount phase, in the child. Allocation-free: only syscalls on prepared data.
//!
//! Two rules make it safe:
//! * every **host** path (bind sources, overlay layers, the root directory) is opened once,
//!   with `openat2(RESOLVE_NO_SYMLINKS)`, *before* the new root is attached at the staging
//!   point, and only that fd is used afterwards (`open_tree(AT_EMPTY_PATH)`, overlay layers
//!   as `/proc/self/fd/N`). A symbolic link anywhere in such a path (one a sandbox that can
//!   write there could have planted) fails the launch with ELOOP instead of redirecting it.
//!   A profile that wants a link followed says so (`follow-symlinks = true`): the compiler
//!   then resolves it on the host and the plan carries the resolved path, which is opened
//!   the same way, so a link swapped in later fails too (see `host_links`);
//! * every **target** is resolved inside the new root with `openat2(RESOLVE_IN_ROOT)`, so
//!   neither `..` nor a symlink planted in a root filesystem can send a mount outside it;
//!   a target the executor creates is reopened by fd with O_NOFOLLOW (modes are set with
//!   fchmod on that fd, never by name), the mount is attached to the fd, and afterwards
//!   the target path is looked up again and must lead to the new mount: a target that
//!   another sandbox renamed or removed meanwhile fails the launch instead of leaving the
//!   mount somewhere the profile did not say.
//!
//! Flags are set with `mount_setattr` on the detached tree before it is attached: it only
//! adds flags, so the "locked" flags of mounts inherited from the host never have to be
//! repeated as a MS_REMOUNT would require (FIELD-NOTES), and AT_RECURSIVE makes a
//! read-only bind read-only all the way down.

use super::error::{Call, Ctx, Fail};
use super::prepare::{Prepared, PreparedOp, Target};
use super::sys::{self, *};
use crate::plan::{Plan, Step};
use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::RawFd;

/// What a missing target should be created as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// An fd closed on drop (the child never allocates, but dropping a Copy-sized guard is fine).
pub struct Fd(pub RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            sys::close(self.0);
        }
    }
}

fn mkdirat(dir: RawFd, name: &CStr, mode: u32) -> Result<bool, Fail> {
    // SAFETY: NUL-terminated name.
    match sys::cvt(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }) {
        Ok(_) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(Fail::new(Call::Mkdir, e)),
    }
}

fn openat(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> Result<RawFd, Errno> {
    // SAFETY: NUL-terminated name.
    sys::cvt(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) })
}

fn is_dir(fd: RawFd) -> Result<bool, Fail> {
    // SAFETY: st is plain data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    sys::cvt(unsafe { libc::fstat(fd, &mut st) }).ctx(Call::Stat)?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

impl Fd {
    /// Give up ownership of the fd.
    pub(super) fn into_raw(self) -> RawFd {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }

    /// This fd, or `root` when it stands for the root itself (-1).
    fn or(&self, root: RawFd) -> RawFd {
        if self.0 >= 0 {
            self.0
        } else {
            root
        }
    }
}

/// Create the ancestors of `t` inside `root` (mode 0755) and return an fd of its parent;
/// `Fd(-1)` stands for `root` itself (a top-level target: nothing to open or close).
fn parent_dir(root: RawFd, t: &Target) -> Result<Fd, Fail> {
    let mut cur = Fd(-1);
    // Once we have created an ancestor, every deeper one is missing: skip their lookups.
    let mut fresh = false;
    for (path, name) in t.ancestors.iter().zip(&t.ancestor_names) {
        let at = cur.or(root);
        if !fresh {
            match sys::open_in_root(root, path, libc::O_PATH | libc::O_DIRECTORY) {
                Ok(fd) => {
                    cur = Fd(fd);
                    continue;
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(Fail::new(Call::Openat2, e)),
            }
        }
        fresh = mkdirat(at, name, 0o755)?;
        // Reopened by its whole path inside the root, even when just created.
        cur = Fd(
            sys::open_in_root(root, path, libc::O_PATH | libc::O_DIRECTORY).ctx(Call::Openat2)?,
        );
    }
    Ok(cur)
}

/// Resolve `t` inside `root`, creating it (and its parents) as `kind` when missing.
pub fn target_fd(root: RawFd, t: &Target, kind: Kind) -> Result<Fd, Fail> {
    match sys::open_in_root(root, &t.rel, libc::O_PATH) {
        Ok(fd) => return Ok(Fd(fd)),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Fail::new(Call::Openat2, e)),
    }
    let parent = parent_dir(root, t)?;
    let at = parent.or(root);
    match kind {
        Kind::Dir => {
            mkdirat(at, &t.name, 0o755)?;
        }
        Kind::File => {
            let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NOCTTY;
            match openat(at, &t.name, flags, 0o644) {
                Ok(fd) => sys::close(fd),
                Err(Errno::EEXIST) => {}
                Err(e) => return Err(Fail::new(Call::Open, e)),
            }
        }
    }
    Ok(Fd(
        sys::open_in_root(root, &t.rel, libc::O_PATH).ctx(Call::Openat2)?
    ))
}

/// Attach the detached mount `src` at `t` inside `root`, creating a missing target as
/// `kind`, then check it landed there.
///
/// `likely_missing` (the root is a fresh tmpfs, where nearly every target still has to be
/// made) turns lookup-then-create around for directories: `mkdirat` first. It never
/// follows a symlink and reports EEXIST for any existing name (before EROFS, or EACCES for
/// a parent it may not write), so an existing target still goes through the
/// resolve-in-root path of [`target_fd`]. A directory we just created is reopened with
/// O_NOFOLLOW|O_DIRECTORY in its resolved parent (a symlink swapped in fails) and the
/// mount is attached to that fd.
pub fn attach(
    root: RawFd,
    t: &Target,
    kind: Kind,
    src: RawFd,
    likely_missing: bool,
) -> Result<(), Fail> {
    let target = if kind == Kind::Dir && likely_missing {
        let parent = parent_dir(root, t)?;
        let at = parent.or(root);
        if mkdirat(at, &t.name, 0o755)? {
            Fd(openat(at, &t.name, NOFOLLOW_DIR | libc::O_PATH, 0).ctx(Call::Openat2)?)
        } else {
            Fd(sys::open_in_root(root, &t.rel, libc::O_PATH).ctx(Call::Openat2)?)
        }
    } else {
        target_fd(root, t, kind)?
    };
    sys::move_mount_fd(src, target.0).ctx(Call::MoveMount)?;
    verify_landed(root, t, src)
}

/// O_DIRECTORY|O_NOFOLLOW: a directory, and not through a final symlink.
const NOFOLLOW_DIR: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW;

/// After attaching `mnt` at `t`: look `t` up again inside `root` and check it leads to the
/// root of `mnt`. Between creating (or resolving) a target and attaching to it, another
/// sandbox sharing a writable parent can rename or remove the directory; the mount then
/// sits on a directory that is no longer at the path the profile names. This check turns
/// that into a failed launch (ESTALE). A mount on the root itself is not checked: a walk
/// never crosses a mount stacked on its own starting point.
fn verify_landed(root: RawFd, t: &Target, mnt: RawFd) -> Result<(), Fail> {
    if t.ancestors.is_empty() && t.name.as_bytes() == b"." {
        return Ok(());
    }
    let want = sys::dev_ino(mnt).ctx(Call::VerifyMount)?;
    let found = Fd(sys::open_in_root(root, &t.rel, libc::O_PATH).ctx(Call::VerifyMount)?);
    if sys::dev_ino(found.0).ctx(Call::VerifyMount)? != want {
        return Err(Fail::new(Call::VerifyMount, Errno::ESTALE));
    }
    Ok(())
}

/// Open a host path the profile names, once, without following any symlink (see the
/// module docs); ELOOP means it is, or passes through, one.
pub(super) fn open_host(path: &CStr, flags: i32) -> Result<Fd, Errno> {
    sys::open_no_symlinks(libc::AT_FDCWD, path, flags).map(Fd)
}

/// A detached clone of the host tree at `path`, opened with [`open_host`].
fn clone_host_tree(path: &CStr, recursive: bool) -> Result<Fd, Fail> {
    let at = open_host(path, libc::O_PATH).ctx(Call::OpenHostPath)?;
    Ok(Fd(sys::open_tree_fd(at.0, recursive).ctx(Call::OpenTree)?))
}

/// A configured, detached filesystem mount: fsopen, options, create, fsmount.
fn new_fs(fstype: &CStr, opts: &[(&CStr, Option<&CStr>)], attrs: u64) -> Result<Fd, Fail> {
    let fs = Fd(sys::fsopen(fstype).ctx(Call::Fsopen)?);
    for (key, value) in opts {
        match value {
            Some(v) => sys::fsconfig_string(fs.0, key, v),
            None => sys::fsconfig_flag(fs.0, key),
        }
        .ctx(Call::Fsconfig)?;
    }
    sys::fsconfig_create(fs.0).ctx(Call::Fsconfig)?;
    Ok(Fd(sys::fsmount(fs.0, attrs).ctx(Call::Fsmount)?))
}

/// A detached read-only clone of the host's /dev/null, to mask a file.
pub fn dev_null_clone() -> Result<Fd, Fail> {
    let fd = Fd(sys::open_tree(
        libc::AT_FDCWD,
        c"/dev/null",
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
    )
    .ctx(Call::OpenTree)?);
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    sys::mount_setattr_fd(fd.0, false, attrs).ctx(Call::MountSetattr)?;
    Ok(fd)
}

/// Hide what `fd` refers to: an empty read-only tmpfs over a directory, /dev/null over a
/// file. `null` is a prepared /dev/null clone (consumed), or -1 to clone one now.
pub fn mask(fd: RawFd, null: RawFd) -> Result<(), Fail> {
    if is_dir(fd)? {
        let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        let m = new_fs(c"tmpfs", &[(c"size", Some(c"4k"))], ro)?;
        return sys::move_mount_fd(m.0, fd).ctx(Call::MoveMount);
    }
    let n = if null >= 0 {
        Fd(null)
    } else {
        dev_null_clone()?
    };
    sys::move_mount_fd(n.0, fd).ctx(Call::MoveMount)
}

/// Bind what `fd` refers to onto itself with extra flags (recursive).
pub fn rebind_with(fd: RawFd, attrs: u64) -> Result<(), Fail> {
    let clone = Fd(sys::open_tree_fd(fd, true).ctx(Call::OpenTree)?);
    sys::mount_setattr_fd(clone.0, true, attrs).ctx(Call::MountSetattr)?;
    sys::move_mount_fd(clone.0, fd).ctx(Call::MoveMount)
}

/// The step index of `Mount(i)`.
fn mount_step(plan: &Plan, i: usize) -> u32 {
    plan.steps
        .iter()
        .position(|s| *s == Step::Mount(i))
        .unwrap_or(0) as u32
}

/// PrepareRoot: open every host path as a detached mount, then attach the new root at the
/// staging point. Returns the root's fd. A failure names the mount step it belongs to.
pub fn prepare_root(plan: &Plan, prep: &mut Prepared) -> Result<RawFd, (Option<u32>, Fail)> {
    for i in 0..prep.mounts.len() {
        let m = &prep.mounts[i];
        let fd = match &m.op {
            PreparedOp::Bind {
                source,
                recursive,
                optional,
            } => {
                let step = || Some(mount_step(plan, i));
                match open_host(source, libc::O_PATH) {
                    Ok(at) => {
                        let fd = sys::open_tree_fd(at.0, *recursive)
                            .ctx(Call::OpenTree)
                            .map_err(|f| (step(), f))?;
                        if m.attrs != 0 {
                            sys::mount_setattr_fd(fd, *recursive, m.attrs)
                                .ctx(Call::MountSetattr)
                                .map_err(|f| (step(), f))?;
                        }
                        fd
                    }
                    Err(Errno::ENOENT) if *optional => -1,
                    Err(e) => return Err((step(), Fail::new(Call::OpenHostPath, e))),
                }
            }
            PreparedOp::Overlay { .. } => {
                let step = mount_step(plan, i);
                let m = &mut prep.mounts[i];
                let attrs = m.attrs;
                let PreparedOp::Overlay {
                    lower,
                    upper,
                    work,
                    scratch,
                } = &mut m.op
                else {
                    continue;
                };
                let dirs = super::overlay::OverlayDirs {
                    lower,
                    upper: upper.as_deref(),
                    work: work.as_deref(),
                };
                super::overlay::overlay(plan.namespaces.user, &dirs, scratch, attrs)
                    .map_err(|f| (Some(step), f))?
            }
            _ => -1,
        };
        prep.mount_fds[i] = fd;
    }
    for k in 0..prep.mask_null_fds.len() {
        let n = dev_null_clone().map_err(|f| (None, f))?;
        prep.mask_null_fds[k] = n.0;
        std::mem::forget(n);
    }
    let root = match &prep.root_dir {
        None => new_fs(c"tmpfs", &[(c"mode", Some(c"755"))], 0),
        Some(dir) => clone_host_tree(dir, true),
    }
    .map_err(|f| (None, f))?;
    sys::move_mount_path(root.0, &prep.staging)
        .ctx(Call::MoveMount)
        .map_err(|f| (None, f))?;
    let fd = root.0;
    std::mem::forget(root);
    Ok(fd)
}

/// Whether Mount(i) was skipped (optional bind source missing).
pub fn skipped(prep: &Prepared, i: usize) -> bool {
    matches!(prep.mounts[i].op, PreparedOp::Bind { .. }) && prep.mount_fds[i] < 0
}

/// Apply `plan.mounts[i]` under `root`.
pub fn apply(prep: &mut Prepared, root: RawFd, i: usize) -> Result<(), Fail> {
    let m = &prep.mounts[i];
    let fs_attrs = m.attrs;
    let fresh_root = prep.root_dir.is_none();
    match &m.op {
        PreparedOp::Bind { .. } | PreparedOp::Overlay { .. } => {
            let src = Fd(prep.mount_fds[i]);
            prep.mount_fds[i] = -1;
            if src.0 < 0 {
                return Ok(());
            }
            let kind = if is_dir(src.0)? {
                Kind::Dir
            } else {
                Kind::File
            };
            attach(root, &m.target, kind, src.0, fresh_root)
        }
        PreparedOp::Tmpfs { size, mode } => {
            let mnt = match size {
                Some(s) => new_fs(
                    c"tmpfs",
                    &[(c"size", Some(s)), (c"mode", Some(mode))],
                    fs_attrs,
                )?,
                None => new_fs(c"tmpfs", &[(c"mode", Some(mode))], fs_attrs)?,
            };
            attach(root, &m.target, Kind::Dir, mnt.0, fresh_root)
        }
        PreparedOp::Proc { unmasked } => {
            let attrs = fs_attrs | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            let mnt = new_fs(c"proc", &[], attrs)?;
            attach(root, &m.target, Kind::Dir, mnt.0, fresh_root)?;
            // An unmasked proc (for nested sandboxes: the kernel refuses their own proc
            // mount under a proc with covered paths) stays as the kernel made it; the
            // sandbox's user namespace still limits what it may write there.
            if *unmasked {
                return Ok(());
            }
            // The fsmount fd now refers to the attached proc itself: no second lookup.
            protect_proc(mnt.0)
        }
        PreparedOp::Dev => {
            // nodev would defeat the device binds; read-only is applied after populating.
            let attrs = (fs_attrs & !(MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY))
                | MOUNT_ATTR_NOSUID
                | MOUNT_ATTR_NOEXEC;
            let mnt = new_fs(
                c"tmpfs",
                &[(c"mode", Some(c"755")), (c"size", Some(c"64k"))],
                attrs,
            )?;
            attach(root, &m.target, Kind::Dir, mnt.0, fresh_root)?;
            // Populated through the fsmount fd, which now refers to the attached tmpfs.
            populate_dev(mnt.0)?;
            if fs_attrs & MOUNT_ATTR_RDONLY != 0 {
                sys::mount_setattr_fd(mnt.0, false, MOUNT_ATTR_RDONLY).ctx(Call::MountSetattr)?;
            }
            Ok(())
        }
        PreparedOp::Devpts => {
            let mnt = devpts(fs_attrs)?;
            attach(root, &m.target, Kind::Dir, mnt.0, fresh_root)
        }
        PreparedOp::Mqueue => {
            let attrs = fs_attrs | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            let mnt = new_fs(c"mqueue", &[], attrs)?;
            attach(root, &m.target, Kind::Dir, mnt.0, fresh_root)
        }
        PreparedOp::Dir { mode } => {
            let parent = parent_dir(root, &m.target)?;
            let at = parent.or(root);
            if !mkdirat(at, &m.target.name, 0o700)? {
                // Already there (a root filesystem's own directory): left as it is.
                if fs_attrs != 0 {
                    let t = target_fd(root, &m.target, Kind::Dir)?;
                    rebind_with(t.0, fs_attrs)?;
                }
                return Ok(());
            }
            // The mode is set through an fd of the directory itself, opened without
            // following a symlink: a path-based chmod here would follow a link swapped in
            // for the new directory and, before pivot_root, could change any host file.
            let flags = libc::O_RDONLY | NOFOLLOW_DIR;
            let d = Fd(openat(at, &m.target.name, flags, 0).ctx(Call::Open)?);
            // SAFETY: fchmod on an fd we own; explicit so the umask cannot narrow it.
            sys::cvt(unsafe { libc::fchmod(d.0, *mode) }).ctx(Call::Fchmod)?;
            if fs_attrs != 0 {
                rebind_with(d.0, fs_attrs)?;
            }
            Ok(())
        }
        PreparedOp::File { content, mode } => {
            let parent = parent_dir(root, &m.target)?;
            // No O_TRUNC before the type check, and O_NONBLOCK: a FIFO or device left at
            // the name must neither block the launch nor be written.
            let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK;
            let f = Fd(openat(parent.or(root), &m.target.name, flags, 0o600).ctx(Call::Open)?);
            // SAFETY: st is plain data filled by the kernel.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            sys::cvt(unsafe { libc::fstat(f.0, &mut st) }).ctx(Call::Stat)?;
            if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(Fail::new(Call::Open, Errno::EEXIST));
            }
            // SAFETY: ftruncate/fchmod on an fd we own.
            sys::cvt(unsafe { libc::ftruncate(f.0, 0) }).ctx(Call::Write)?;
            sys::write_all(f.0, content).ctx(Call::Write)?;
            sys::cvt(unsafe { libc::fchmod(f.0, *mode) }).ctx(Call::Fchmod)?;
            if fs_attrs != 0 {
                // On the file we wrote, not on whatever the name leads to by now.
                rebind_with(f.0, fs_attrs)?;
            }
            Ok(())
        }
        PreparedOp::Symlink { link } => {
            let parent = parent_dir(root, &m.target)?;
            // SAFETY: NUL-terminated strings.
            sys::cvt(unsafe {
                libc::symlinkat(link.as_ptr(), parent.or(root), m.target.name.as_ptr())
            })
            .ctx(Call::Symlink)
            .map(drop)
        }
    }
}

fn devpts(attrs: u64) -> Result<Fd, Fail> {
    // Every devpts mount is a new instance (Linux >= 4.7). No gid=5: it may be unmapped.
    new_fs(
        c"devpts",
        &[(c"ptmxmode", Some(c"0666")), (c"mode", Some(c"0620"))],
        attrs | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
    )
}

/// Character devices bind-mounted from the host (a user namespace cannot mknod).
const DEVICES: [(&CStr, &CStr); 6] = [
    (c"null", c"/dev/null"),
    (c"zero", c"/dev/zero"),
    (c"full", c"/dev/full"),
    (c"random", c"/dev/random"),
    (c"urandom", c"/dev/urandom"),
    (c"tty", c"/dev/tty"),
];

/// Symlinks the OCI runtime spec requires in /dev, plus ptmx for the private devpts.
const DEV_LINKS: [(&CStr, &CStr); 6] = [
    (c"ptmx", c"pts/ptmx"),
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"core", c"/proc/kcore"),
];

/// Fill a fresh /dev tmpfs. Every name is created here, in a superblock nothing else can
/// reach yet, and move_mount does not follow symlinks: mounts are attached by name.
fn populate_dev(dev: RawFd) -> Result<(), Fail> {
    for (name, host) in DEVICES {
        let src = match sys::open_tree(libc::AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) {
            Ok(fd) => Fd(fd),
            // A host without the device (a minimal container) gives a sandbox without it.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Fail::new(Call::OpenTree, e)),
        };
        sys::mount_setattr_fd(src.0, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)
            .ctx(Call::MountSetattr)?;
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW;
        sys::close(openat(dev, name, flags, 0o666).ctx(Call::Open)?);
        sys::move_mount_at(src.0, dev, name).ctx(Call::MoveMount)?;
    }
    mkdirat(dev, c"pts", 0o755)?;
    let pts = devpts(0)?;
    sys::move_mount_at(pts.0, dev, c"pts").ctx(Call::MoveMount)?;
    mkdirat(dev, c"shm", 0o755)?;
    let shm = new_fs(
        c"tmpfs",
        &[(c"mode", Some(c"1777"))],
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )?;
    sys::move_mount_at(shm.0, dev, c"shm").ctx(Call::MoveMount)?;
    for (name, link) in DEV_LINKS {
        // SAFETY: NUL-terminated strings.
        sys::cvt(unsafe { libc::symlinkat(link.as_ptr(), dev, name.as_ptr()) })
            .ctx(Call::Symlink)?;
    }
    Ok(())
}

/// Paths of a new proc hidden from the sandbox (the OCI runtime defaults).
const PROC_MASKED: [&CStr; 9] = [
    c"kcore",
    c"keys",
    c"latency_stats",
    c"timer_list",
    c"timer_stats",
    c"sched_debug",
    c"acpi",
    c"asound",
    c"scsi",
];

/// Paths of a new proc made read-only (the OCI runtime defaults).
const PROC_READ_ONLY: [&CStr; 5] = [c"sys", c"sysrq-trigger", c"irq", c"bus", c"fs"];

/// Mask and write-protect the kernel interfaces of a new proc. procfs entries cannot be
/// replaced by anyone, so they are looked up and mounted on by name.
fn protect_proc(proc: RawFd) -> Result<(), Fail> {
    for name in PROC_MASKED {
        // SAFETY: st is plain data filled by the kernel; name is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::fstatat(proc, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        match sys::cvt(r) {
            Ok(_) => {}
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Fail::new(Call::Stat, e)),
        }
        let cover = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            new_fs(c"tmpfs", &[(c"size", Some(c"4k"))], ro)?
        } else {
            dev_null_clone()?
        };
        sys::move_mount_at(cover.0, proc, name).ctx(Call::MoveMount)?;
    }
    for name in PROC_READ_ONLY {
        let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW;
        let clone = match sys::open_tree(proc, name, flags) {
            Ok(fd) => Fd(fd),
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Fail::new(Call::OpenTree, e)),
        };
        let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        sys::mount_setattr_fd(clone.0, true, ro).ctx(Call::MountSetattr)?;
        sys::move_mount_at(clone.0, proc, name).ctx(Call::MoveMount)?;
    }
    Ok(())
}
