//! The mount phase, in the child. Allocation-free: only syscalls on prepared data.
//!
//! Two rules make it safe:
//! * every **host** path (bind sources, overlay layers, the root directory) is opened as a
//!   detached mount *before* the new root is attached at the staging point, so the staging
//!   mount can never hide a source, and sources are resolved on the host as the user wrote
//!   them;
//! * every **target** is resolved inside the new root with `openat2(RESOLVE_IN_ROOT)`, so
//!   neither `..` nor a symlink planted in a root filesystem can send a mount outside it.
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
/// `kind`.
///
/// `likely_missing` (the root is a fresh tmpfs, where nearly every target still has to be
/// made) turns lookup-then-create around for directories: `mkdirat` first. It never
/// follows a symlink and reports EEXIST for any existing name (before EROFS, or EACCES for
/// a parent it may not write), so an existing target still goes through the
/// resolve-in-root path of [`target_fd`]. A directory we just created is empty and sits in
/// a parent resolved inside the root; the mount is attached to it by name, and move_mount
/// does not follow a symlink there, so even a swap between the two calls could not
/// redirect it.
pub fn attach(
    root: RawFd,
    t: &Target,
    kind: Kind,
    src: RawFd,
    likely_missing: bool,
) -> Result<(), Fail> {
    if kind == Kind::Dir && likely_missing {
        let parent = parent_dir(root, t)?;
        let at = parent.or(root);
        if mkdirat(at, &t.name, 0o755)? {
            return sys::move_mount_at(src, at, &t.name).ctx(Call::MoveMount);
        }
        let t = Fd(sys::open_in_root(root, &t.rel, libc::O_PATH).ctx(Call::Openat2)?);
        return sys::move_mount_fd(src, t.0).ctx(Call::MoveMount);
    }
    let t = target_fd(root, t, kind)?;
    sys::move_mount_fd(src, t.0).ctx(Call::MoveMount)
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
                let rec = if *recursive { AT_RECURSIVE } else { 0 };
                let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec;
                match sys::open_tree(libc::AT_FDCWD, source, flags) {
                    Ok(fd) => {
                        if m.attrs != 0 {
                            sys::mount_setattr_fd(fd, *recursive, m.attrs)
                                .ctx(Call::MountSetattr)
                                .map_err(|f| (Some(mount_step(plan, i)), f))?;
                        }
                        fd
                    }
                    Err(Errno::ENOENT) if *optional => -1,
                    Err(e) => {
                        return Err((Some(mount_step(plan, i)), Fail::new(Call::OpenTree, e)))
                    }
                }
            }
            PreparedOp::Overlay {
                lower,
                lower_joined,
                upper,
                work,
            } => {
                let layers = Layers {
                    each: lower,
                    joined: lower_joined,
                };
                overlay(plan, &layers, upper.as_deref(), work.as_deref(), m.attrs)
                    .map_err(|f| (Some(mount_step(plan, i)), f))?
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
        Some(dir) => sys::open_tree(
            libc::AT_FDCWD,
            dir,
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE,
        )
        .map(Fd)
        .ctx(Call::OpenTree),
    }
    .map_err(|f| (None, f))?;
    sys::move_mount_path(root.0, &prep.staging)
        .ctx(Call::MoveMount)
        .map_err(|f| (None, f))?;
    let fd = root.0;
    std::mem::forget(root);
    Ok(fd)
}

/// Overlay lower layers, one by one and pre-joined.
struct Layers<'a> {
    each: &'a [std::ffi::CString],
    joined: &'a CStr,
}

fn overlay(
    plan: &Plan,
    lower: &Layers,
    upper: Option<&CStr>,
    work: Option<&CStr>,
    attrs: u64,
) -> Result<RawFd, Fail> {
    let fs = Fd(sys::fsopen(c"overlay").ctx(Call::Fsopen)?);
    // `lowerdir+` (Linux 6.8) takes one layer per call, so paths may contain `:`; older
    // kernels reject the key with EINVAL and take the escaped, joined list instead.
    let mut one_by_one = true;
    for (i, l) in lower.each.iter().enumerate() {
        match sys::fsconfig_string(fs.0, c"lowerdir+", l) {
            Ok(()) => {}
            Err(Errno::EINVAL) if i == 0 => {
                one_by_one = false;
                break;
            }
            Err(e) => return Err(Fail::new(Call::Fsconfig, e)),
        }
    }
    if !one_by_one {
        sys::fsconfig_string(fs.0, c"lowerdir", lower.joined).ctx(Call::Fsconfig)?;
    }
    if let Some(u) = upper {
        sys::fsconfig_string(fs.0, c"upperdir", u).ctx(Call::Fsconfig)?;
    }
    if let Some(w) = work {
        sys::fsconfig_string(fs.0, c"workdir", w).ctx(Call::Fsconfig)?;
    }
    if plan.namespaces.user {
        // trusted.* xattrs are out of reach in a user namespace.
        sys::fsconfig_flag(fs.0, c"userxattr").ctx(Call::Fsconfig)?;
    }
    sys::fsconfig_create(fs.0).ctx(Call::Fsconfig)?;
    sys::fsmount(fs.0, attrs).ctx(Call::Fsmount)
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
            if mkdirat(parent.or(root), &m.target.name, 0o700)? {
                // SAFETY: NUL-terminated name; explicit chmod so the umask cannot narrow it.
                sys::cvt(unsafe {
                    libc::fchmodat(parent.or(root), m.target.name.as_ptr(), *mode, 0)
                })
                .ctx(Call::Fchmod)?;
            }
            if fs_attrs != 0 {
                let t = target_fd(root, &m.target, Kind::Dir)?;
                rebind_with(t.0, fs_attrs)?;
            }
            Ok(())
        }
        PreparedOp::File { content, mode } => {
            let parent = parent_dir(root, &m.target)?;
            let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_NOFOLLOW;
            let f = Fd(openat(parent.or(root), &m.target.name, flags, 0o600).ctx(Call::Open)?);
            sys::write_all(f.0, content).ctx(Call::Write)?;
            // SAFETY: fchmod on an fd we own.
            sys::cvt(unsafe { libc::fchmod(f.0, *mode) }).ctx(Call::Fchmod)?;
            drop(f);
            if fs_attrs != 0 {
                let t = target_fd(root, &m.target, Kind::File)?;
                rebind_with(t.0, fs_attrs)?;
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
