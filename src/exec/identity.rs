//! Namespace set-up and identity steps, in the child (allocation-free).

use super::error::{Call, Ctx, Fail};
use super::mounts::Fd;
use super::prepare::Prepared;
use super::sys;
use crate::plan::Plan;
use std::os::fd::RawFd;

pub fn set_hostname(name: &[u8]) -> Result<(), Fail> {
    // SAFETY: pointer and length of a live buffer.
    sys::cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })
        .ctx(Call::Sethostname)
        .map(drop)
}

pub fn set_domainname(name: &[u8]) -> Result<(), Fail> {
    // SAFETY: pointer and length of a live buffer.
    sys::cvt(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) })
        .ctx(Call::Setdomainname)
        .map(drop)
}

pub fn new_session() -> Result<(), Fail> {
    // SAFETY: no arguments.
    sys::cvt(unsafe { libc::setsid() })
        .ctx(Call::Setsid)
        .map(drop)
}

pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe {
        libc::umask(mask);
    }
}

pub fn chdir(cwd: &std::ffi::CStr) -> Result<(), Fail> {
    // SAFETY: NUL-terminated path.
    sys::cvt(unsafe { libc::chdir(cwd.as_ptr()) })
        .ctx(Call::Chdir)
        .map(drop)
}

pub fn no_new_privs() -> Result<(), Fail> {
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
        .ctx(Call::Prctl)
        .map(drop)
}

/// Ask for SIGKILL when the parent dies. Credential changes clear it, so this is repeated
/// after the uid switch.
pub fn set_pdeathsig() -> Result<(), Fail> {
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) })
        .ctx(Call::Prctl)
        .map(drop)
}

/// The signal init, as the keeper of a sandbox without a PID namespace, gets when the
/// supervisor dies: one it waits for (SIGKILL would leave the payload's orphans running).
pub const KEEPER_PARENT_DEATH_SIGNAL: libc::c_int = libc::SIGHUP;

/// Make this process (init without a PID namespace) the subreaper of everything the payload
/// starts, and, with `die_with_parent`, have the supervisor's death announced by
/// [`KEEPER_PARENT_DEATH_SIGNAL`] instead of SIGKILL.
pub fn become_keeper(die_with_parent: bool) -> Result<(), Fail> {
    // SAFETY: prctl with integer arguments.
    sys::cvt(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).ctx(Call::Prctl)?;
    if die_with_parent {
        let sig = KEEPER_PARENT_DEATH_SIGNAL as libc::c_ulong;
        // SAFETY: as above.
        sys::cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) }).ctx(Call::Prctl)?;
    }
    Ok(())
}

/// Open this process's list of children (`/proc/thread-self/children`), read again with
/// pread at offset 0 each time (a seq_file regenerates it). Opened while the host's /proc
/// is still reachable: after pivot_root there may be no /proc, and Landlock would refuse it.
pub fn open_own_children() -> Result<RawFd, Fail> {
    // SAFETY: a NUL-terminated literal path.
    let fd = unsafe {
        libc::open(
            c"/proc/thread-self/children".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    sys::cvt(fd).ctx(Call::Open)
}

/// Become uid/gid 0 of the new user namespace (see `Prepared::become_ns_root`). The
/// capabilities the namespace granted stay: an euid change to 0 keeps the permitted set.
pub fn become_ns_root() -> Result<(), Fail> {
    // SAFETY: plain id syscalls.
    sys::cvt(unsafe { libc::setresgid(0, 0, 0) }).ctx(Call::Setresgid)?;
    // SAFETY: as above.
    sys::cvt(unsafe { libc::setresuid(0, 0, 0) }).ctx(Call::Setresuid)?;
    Ok(())
}

/// setgroups, setresgid, setresuid. Capabilities survive the switch only when a later
/// SetCapabilities step will set them explicitly (PR_SET_KEEPCAPS).
pub fn switch_user(plan: &Plan, prep: &Prepared) -> Result<(), Fail> {
    let p = &plan.process;
    if prep.keep_caps {
        // SAFETY: prctl with integer arguments.
        sys::cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) }).ctx(Call::Prctl)?;
    }
    // With setgroups denied (rootless) the kernel refuses any change; an empty list then
    // means "keep the unmapped groups", which the payload cannot use anyway.
    if !prep.setgroups_denied || !p.groups.is_empty() {
        // SAFETY: pointer and length of a live slice of gid_t (u32).
        sys::cvt(unsafe { libc::setgroups(p.groups.len(), p.groups.as_ptr()) })
            .ctx(Call::Setgroups)?;
    }
    // SAFETY: plain integer arguments.
    sys::cvt(unsafe { libc::setresgid(p.gid, p.gid, p.gid) }).ctx(Call::Setresgid)?;
    sys::cvt(unsafe { libc::setresuid(p.uid, p.uid, p.uid) }).ctx(Call::Setresuid)?;
    Ok(())
}

/// Enter a new cgroup namespace. Done after the parent attached the child to its cgroup,
/// so the namespace's root is the sandbox's cgroup.
pub fn enter_cgroup_ns() -> Result<(), Fail> {
    // SAFETY: integer argument.
    sys::cvt(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) })
        .ctx(Call::Unshare)
        .map(drop)
}

/// Create the time namespace and set its offsets. unshare(CLONE_NEWTIME) puts only the
/// caller's *future children and next execve* into it, and the offsets can only be written
/// before a process has entered it: so unshare, write, and let execve (or init's fork of
/// the payload) enter it. clone3(CLONE_NEWTIME) would enter it at once and freeze the
/// offsets at zero.
pub fn enter_time_ns(offsets: &[u8]) -> Result<(), Fail> {
    // SAFETY: integer argument; NUL-terminated path.
    sys::cvt(unsafe { libc::unshare(libc::CLONE_NEWTIME) }).ctx(Call::Unshare)?;
    let f = Fd(sys::cvt(unsafe {
        libc::open(
            c"/proc/self/timens_offsets".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    })
    .ctx(Call::Open)?);
    sys::write_all(f.0, offsets).ctx(Call::Write)
}

#[repr(C)]
struct IfreqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Bring `lo` up in the new network namespace (the kernel then assigns 127.0.0.1 and ::1);
/// nothing else is configured.
pub fn loopback_up() -> Result<(), Fail> {
    // SAFETY: socket with integer arguments.
    let s = Fd(sys::cvt(unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })
    .ctx(Call::Socket)?);
    let mut req = IfreqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    req.name[..2].copy_from_slice(b"lo");
    // SAFETY: req is a valid struct ifreq-sized buffer for both ioctls.
    sys::cvt(unsafe { libc::ioctl(s.0, libc::SIOCGIFFLAGS, &mut req) }).ctx(Call::Ioctl)?;
    req.flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    sys::cvt(unsafe { libc::ioctl(s.0, libc::SIOCSIFFLAGS, &req) }).ctx(Call::Ioctl)?;
    Ok(())
}

/// Close every fd >= 3 except `keep` (sorted ascending) and the socket-activation fds
/// 3..3+listen_fds. The payload must not inherit anything the caller had open.
pub fn close_inherited_fds(keep: &[i32], listen_fds: u32) -> Result<(), Fail> {
    let mut next: u32 = 3 + listen_fds;
    for &k in keep {
        if k < 0 {
            continue;
        }
        let k = k as u32;
        if k < next {
            continue;
        }
        if k > next {
            sys::close_range(next, k - 1).ctx(Call::CloseRange)?;
        }
        next = k + 1;
    }
    match sys::close_range(next, u32::MAX) {
        Ok(()) => Ok(()),
        Err(e) => Err(Fail::new(Call::CloseRange, e)),
    }
}
