//! Probes that try the real thing in a throw-away child: whether this process may create
//! a user namespace (and map itself in it), a time namespace, mount a fresh proc, and name
//! a fresh UTS namespace.
//!
//! Reading sysctls says what should happen; only trying says what does (AppArmor, seccomp
//! filters of an outer sandbox or container, a masked /proc, missing capabilities all
//! refuse at the syscall). Each probe forks, the child makes raw syscalls only (no
//! allocation after fork: doctor may be run from a multi-threaded test harness through the
//! binary, but the binary itself is single-threaded here) and exits with 0 or the errno.

use nix::errno::Errno;

/// What a probe found: `Ok` or the errno of the refused step, with the step's name.
pub type ProbeResult = Result<(), (&'static str, Errno)>;

/// The steps a probe child can fail at; it sends the index and the errno through a pipe
/// (an exit status has too few bits for both).
const STEPS: &[&str] = &[
    "unshare(CLONE_NEWUSER)",
    "write /proc/self/uid_map",
    "unshare(CLONE_NEWTIME)",
    "unshare(CLONE_NEWNS|CLONE_NEWPID)",
    "make / private",
    "fork into the new PID namespace",
    "mount proc on /proc",
    "write /proc/self/setgroups",
    "write /proc/self/gid_map",
    "unshare(CLONE_NEWUTS)",
    "sethostname(2)",
];

/// Fork; run `body` in the child, which returns `Err((step index, errno))` or `Ok`.
fn in_child(body: &dyn Fn() -> Result<(), (u8, i32)>) -> ProbeResult {
    let mut fds = [0; 2];
    // SAFETY: a valid two-int array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(("pipe2", Errno::last()));
    }
    // SAFETY: the child only makes raw syscalls (in `body`) and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = Errno::last();
        // SAFETY: closing our own pipe fds.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(("fork", e));
    }
    if pid == 0 {
        let code = match body() {
            Ok(()) => 0,
            Err((step, errno)) => {
                let rec = [step, (errno & 0xff) as u8, ((errno >> 8) & 0xff) as u8];
                // SAFETY: writing a stack buffer to our pipe, then exiting without unwinding.
                unsafe { libc::write(fds[1], rec.as_ptr().cast(), rec.len()) };
                1
            }
        };
        // SAFETY: as above.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: closing the write end we do not use.
    unsafe { libc::close(fds[1]) };
    let mut rec = [0u8; 3];
    // SAFETY: reading into a stack buffer from our pipe.
    let n = unsafe { libc::read(fds[0], rec.as_mut_ptr().cast(), rec.len()) };
    // SAFETY: closing our fd and reaping our child.
    unsafe {
        libc::close(fds[0]);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && Errno::last() == Errno::EINTR {}
    }
    if n == 3 {
        let step = STEPS.get(usize::from(rec[0])).copied().unwrap_or("probe");
        let errno = i32::from(rec[1]) | (i32::from(rec[2]) << 8);
        return Err((step, Errno::from_raw(errno)));
    }
    Ok(())
}

fn check(step: u8, rc: libc::c_long) -> Result<(), (u8, i32)> {
    if rc < 0 {
        Err((step, Errno::last() as i32))
    } else {
        Ok(())
    }
}

fn unshare(step: u8, flags: libc::c_int) -> Result<(), (u8, i32)> {
    // SAFETY: unshare with integer flags.
    check(step, libc::c_long::from(unsafe { libc::unshare(flags) }))
}

/// Write `text` (NUL-terminated path) in one write(2).
fn write_file(step: u8, path: &[u8], text: &[u8]) -> Result<(), (u8, i32)> {
    // SAFETY: `path` is NUL-terminated; `text` a live buffer.
    unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC);
        check(step, libc::c_long::from(fd))?;
        let n = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        check(step, n as libc::c_long)
    }
}

/// The single-line maps an unprivileged caller may write itself (prepared before fork).
struct SelfMaps {
    uid: Vec<u8>,
    gid: Vec<u8>,
}

impl SelfMaps {
    fn new() -> SelfMaps {
        // SAFETY: plain getters.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        SelfMaps {
            uid: format!("0 {uid} 1\n").into_bytes(),
            gid: format!("0 {gid} 1\n").into_bytes(),
        }
    }

    /// Enter a new user namespace mapped to ourselves, as stockade does for a rootless run.
    fn enter(&self) -> Result<(), (u8, i32)> {
        unshare(0, libc::CLONE_NEWUSER)?;
        write_file(1, b"/proc/self/uid_map\0", &self.uid)?;
        write_file(7, b"/proc/self/setgroups\0", b"deny")?;
        write_file(8, b"/proc/self/gid_map\0", &self.gid)
    }
}

/// A user namespace with the caller mapped to root in it.
pub fn user_namespace() -> ProbeResult {
    let maps = SelfMaps::new();
    in_child(&|| maps.enter())
}

/// A time namespace (inside a user namespace unless root, as stockade creates it).
pub fn time_namespace() -> ProbeResult {
    let maps = SelfMaps::new();
    let root = nix::unistd::geteuid().is_root();
    in_child(&|| {
        if !root {
            maps.enter()?;
        }
        unshare(2, libc::CLONE_NEWTIME)
    })
}

/// A fresh proc mount in new user, mount and PID namespaces: what a profile with a `proc`
/// mount and `namespaces.user` does (root included: the kernel's check below applies to
/// every mounter outside the initial user namespace). Refused (EPERM) where the current
/// /proc has parts over-mounted (a container's masked paths): the kernel then considers a
/// new proc instance "too revealing" (fs/namespace.c, mount_too_revealing).
pub fn proc_mount() -> ProbeResult {
    let maps = SelfMaps::new();
    in_child(&|| {
        maps.enter()?;
        unshare(3, libc::CLONE_NEWNS | libc::CLONE_NEWPID)?;
        // SAFETY: raw mount/fork/wait syscalls with NUL-terminated literals.
        unsafe {
            check(
                4,
                libc::c_long::from(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )),
            )?;
            let pid = libc::fork();
            check(5, libc::c_long::from(pid))?;
            if pid == 0 {
                let rc = libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                );
                let code = if rc < 0 { Errno::last() as i32 } else { 0 };
                libc::_exit(code & 0xff);
            }
            let mut st = 0;
            while libc::waitpid(pid, &mut st, 0) < 0 && Errno::last() == Errno::EINTR {}
            match libc::WIFEXITED(st).then(|| libc::WEXITSTATUS(st)) {
                Some(0) => Ok(()),
                Some(errno) => Err((6, errno)),
                None => Err((6, libc::EINTR)),
            }
        }
    })
}

/// A hostname set in new user and UTS namespaces, as a profile with `filesystem.hostname`
/// does. The kernel allows it (CAP_SYS_ADMIN over the new UTS namespace's owner); what
/// refuses it is an outer seccomp filter: podman's and docker's default profiles return EPERM
/// for sethostname(2) unless the container has CAP_SYS_ADMIN.
pub fn hostname() -> ProbeResult {
    let maps = SelfMaps::new();
    in_child(&|| {
        maps.enter()?;
        unshare(9, libc::CLONE_NEWUTS)?;
        let name = b"stockade-probe";
        // SAFETY: a live buffer and its length.
        check(
            10,
            libc::c_long::from(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }),
        )
    })
}
