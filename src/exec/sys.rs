//! Thin wrappers over the raw system calls the executor needs and libc/nix do not wrap:
//! clone3, the new mount API (open_tree, move_mount, fsopen, fsconfig, fsmount,
//! mount_setattr), openat2, pivot_root, close_range.
//!
//! Every wrapper is allocation-free and async-signal-safe, so the child may call it after
//! clone. Errors are returned as the raw [`Errno`]; the caller attaches the syscall name.

use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::RawFd;

pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_RECURSIVE: u32 = 0x8000;
pub const AT_SYMLINK_NOFOLLOW: u32 = libc::AT_SYMLINK_NOFOLLOW as u32;
pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const FSOPEN_CLOEXEC: u32 = 1;
pub const FSMOUNT_CLOEXEC: u32 = 1;
pub const FSCONFIG_SET_FLAG: u32 = 0;
pub const FSCONFIG_SET_STRING: u32 = 1;
pub const FSCONFIG_CMD_CREATE: u32 = 6;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
/// clone3 flag; `libc::CLONE_INTO_CGROUP` is an overflowing c_int (see FIELD-NOTES).
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` (v2, with `cgroup`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn check(ret: libc::c_long) -> Result<RawFd, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret as RawFd)
    }
}

const EMPTY: &CStr = c"";

/// clone3 without CLONE_VM: fork semantics (the child continues on a copy of the stack).
/// Returns 0 in the child and the child's pid in the parent.
///
/// # Safety
/// The caller must be single-threaded, and the child must only make async-signal-safe
/// calls until it execs or exits.
pub unsafe fn clone3(args: &CloneArgs) -> Result<libc::pid_t, Errno> {
    let ret = libc::syscall(
        libc::SYS_clone3,
        args as *const CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    check(ret).map(|p| p as libc::pid_t)
}

/// The stack of a CLONE_VM child: an anonymous mapping whose lowest page is PROT_NONE, so
/// an overflow faults instead of writing over the memory it shares with its parent.
#[derive(Debug)]
pub struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

impl ChildStack {
    /// Map `len` bytes (a multiple of the page size). Pages are only touched when used.
    pub fn new(len: usize) -> Result<ChildStack, Errno> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the first page of the mapping made above.
        if unsafe { libc::mprotect(base, 4096, libc::PROT_NONE) } != 0 {
            return Err(Errno::last());
        }
        Ok(stack)
    }

    /// The initial stack pointer (the high end: stacks grow down; page-aligned).
    pub fn top(&self) -> *mut libc::c_void {
        self.base.wrapping_byte_add(self.len)
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping this value owns.
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

/// Start `entry(arg)` in a child that shares this process's memory and runs on `stack_top`
/// (CLONE_VM | CLONE_VFORK, SIGCHLD on exit): no page tables are copied, and the caller
/// stays suspended until the child has called execve or exited, so the two never run at
/// the same time in the shared memory.
///
/// # Safety
/// `stack_top` must be the top of a [`ChildStack`] that nothing else uses, and `entry`
/// must end in execve or _exit without unwinding; `arg` must be valid for `entry`.
pub unsafe fn clone_vfork(
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    stack_top: *mut libc::c_void,
    arg: *mut libc::c_void,
) -> Result<libc::pid_t, Errno> {
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: per this function's contract.
    let pid = unsafe { libc::clone(entry, stack_top, flags, arg) };
    if pid < 0 {
        Err(Errno::last())
    } else {
        Ok(pid)
    }
}

/// open_tree(dirfd, path, flags): a detached copy of a mount tree when OPEN_TREE_CLONE.
pub fn open_tree(dirfd: RawFd, path: &CStr, flags: u32) -> Result<RawFd, Errno> {
    // SAFETY: path is NUL-terminated; the kernel only reads it.
    check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) })
}

/// Clone the tree at `fd` itself (AT_EMPTY_PATH).
pub fn open_tree_fd(fd: RawFd, recursive: bool) -> Result<RawFd, Errno> {
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    open_tree(
        fd,
        EMPTY,
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec,
    )
}

/// Attach the detached mount `from_fd` on top of the object `to_fd` refers to.
pub fn move_mount_fd(from_fd: RawFd, to_fd: RawFd) -> Result<(), Errno> {
    // SAFETY: empty paths with both *_EMPTY_PATH flags: the kernel uses the fds only.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from_fd,
            EMPTY.as_ptr(),
            to_fd,
            EMPTY.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// Attach the detached mount `from_fd` on `name` in the directory `dir`. Without
/// MOVE_MOUNT_T_SYMLINKS the kernel does not follow a symlink in `name`, so the mount lands
/// on exactly that directory entry.
pub fn move_mount_at(from_fd: RawFd, dir: RawFd, name: &CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from_fd,
            EMPTY.as_ptr(),
            dir,
            name.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// Attach the detached mount `from_fd` at `path` (resolved from the caller's root/cwd).
pub fn move_mount_path(from_fd: RawFd, path: &CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from_fd,
            EMPTY.as_ptr(),
            libc::AT_FDCWD,
            path.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// fsopen(fstype).
pub fn fsopen(fstype: &CStr) -> Result<RawFd, Errno> {
    // SAFETY: NUL-terminated string.
    check(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
}

/// fsconfig(fd, FSCONFIG_SET_STRING, key, value).
pub fn fsconfig_string(fd: RawFd, key: &CStr, value: &CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    })
    .map(drop)
}

/// fsconfig(fd, FSCONFIG_SET_FLAG, key).
pub fn fsconfig_flag(fd: RawFd, key: &CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated string; value must be NULL for a flag.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })
    .map(drop)
}

/// fsconfig(fd, FSCONFIG_CMD_CREATE).
pub fn fsconfig_create(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: no pointers.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })
    .map(drop)
}

/// fsmount(fd, FSMOUNT_CLOEXEC, attrs): a detached mount of the configured superblock.
pub fn fsmount(fd: RawFd, attrs: u64) -> Result<RawFd, Errno> {
    // SAFETY: no pointers.
    check(unsafe { libc::syscall(libc::SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs) })
}

/// mount_setattr: set `attr_set` on the mount `fd` refers to (and below it if recursive).
/// Unlike a MS_REMOUNT it only adds flags, so the "locked" flags of mounts inherited from a
/// more privileged mount namespace never need repeating (see FIELD-NOTES).
pub fn mount_setattr_fd(fd: RawFd, recursive: bool, attr_set: u64) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = AT_EMPTY_PATH | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: attr lives across the call; the size matches MOUNT_ATTR_SIZE_VER0.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            EMPTY.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: `path` is resolved as if `root` were
/// `/`, so neither `..` nor an absolute symlink can leave it.
///
/// A lookup that walks `..` fails with EAGAIN when any mount or rename happened on the
/// system meanwhile (the kernel cannot then prove it stayed inside `root`); other sandboxes
/// starting at the same time do exactly that, so EAGAIN is retried, a bounded number of
/// times.
pub fn open_in_root(root: RawFd, path: &CStr, flags: i32) -> Result<RawFd, Errno> {
    openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
}

/// openat2 with RESOLVE_NO_SYMLINKS: `path` (absolute: resolved from the caller's root) is
/// opened only when no component of it is a symbolic link, so a link planted anywhere on
/// the way fails with ELOOP instead of redirecting the open. This is how every **host**
/// path the executor uses is opened, once; the fd is then used instead of the path.
pub fn open_no_symlinks(dir: RawFd, path: &CStr, flags: i32) -> Result<RawFd, Errno> {
    openat2(dir, path, flags, RESOLVE_NO_SYMLINKS)
}

fn openat2(dir: RawFd, path: &CStr, flags: i32, resolve: u64) -> Result<RawFd, Errno> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    let mut tries = 0;
    loop {
        // SAFETY: how lives across the call; path is NUL-terminated.
        let r = check(unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        });
        match r {
            Err(Errno::EAGAIN) if tries < OPENAT2_RETRIES => tries += 1,
            r => return r,
        }
    }
}

/// The (device, inode) of what `fd` refers to.
pub fn dev_ino(fd: RawFd) -> Result<(u64, u64), Errno> {
    // SAFETY: st is plain data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok((st.st_dev, st.st_ino))
}

/// How often [`open_in_root`] retries EAGAIN before giving up with it.
const OPENAT2_RETRIES: u32 = 1000;

/// pivot_root(new_root, put_old).
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })
        .map(drop)
}

/// close_range(first, last, 0).
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) }).map(drop)
}

/// Close an fd, ignoring errors (used on cleanup paths only).
pub fn close(fd: RawFd) {
    // SAFETY: closing an fd we own.
    unsafe {
        libc::close(fd);
    }
}

/// Map a libc return value (-1 + errno) to a Result.
pub fn cvt(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// write(2) the whole buffer (pipes and small files).
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}
