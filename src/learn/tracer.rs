//! The learn tracer: `stockade run PROFILE -- CMD` under ptrace, every descendant followed,
//! observations of the payload (never of stockade's own setup) written as log events.
//!
//! Mechanism (rootless): the child stops itself, the tracer seizes it with
//! `PTRACE_O_EXITKILL` (a killed `stockade learn` takes the sandbox with it) and
//! fork/vfork/clone/exec following, then it execs `stockade run`. Syscalls are observed at
//! syscall-stops (`PTRACE_SYSCALL` + `PTRACE_GET_SYSCALL_INFO`, which also gives the ABI).
//! A process is recorded from its first exec of a program other than stockade on, and its
//! children inherit that. Paths are resolved as the kernel resolved them: `/proc/PID/fd/N`
//! after a successful open (symlinks followed), `/proc/PID/cwd` for relative names.
//!
//!
//! Fast path (`fast`, when the profile sets no_new_privs): `stockade run --learn-filter`
//! loads the learning filter (`exec::confine::learning_filter`) instead of the profile's, and
//! the tracer runs its tracees with `PTRACE_CONT` and `PTRACE_O_TRACESECCOMP`. Only what the
//! profile would refuse, the path and socket calls, and foreign-ABI calls stop, once, at a
//! seccomp-stop; a path or socket call is then resumed with `PTRACE_SYSCALL` to see its
//! result at the syscall-exit-stop. stockade's own setup (before the filter) never stops.

use super::event::{Access, Event};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const OP_ENTRY: u8 = 1;
const OP_EXIT: u8 = 2;
const OP_SECCOMP: u8 = 3;
const PTRACE_EVENT_SECCOMP: i32 = 7;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_BIT: u64 = 0x4000_0000;

/// `struct ptrace_syscall_info` (linux/ptrace.h), entry and exit views of the union.
#[repr(C)]
#[derive(Clone, Copy)]
struct SyscallInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    /// entry: nr, args[6]; exit: rval (i64), is_error (u8).
    data: [u64; 7],
}

#[derive(Default, Clone)]
struct Proc {
    recording: bool,
    exe: String,
    /// `exe`'s number in `Recorder::exe_ids` (a cheap key for the per-call dedup).
    exe_id: u32,
    entry: Option<(u64, [u64; 6], u32)>,
    /// Fast path: resume with PTRACE_SYSCALL to see this call's result.
    await_exit: bool,
    /// The file its last execve named (resolved at the exec event: a script or a symlink
    /// needs Landlock's execute right too, and `/proc/PID/exe` shows only the interpreter).
    pending_exec: Option<String>,
}

/// The tracer's result.
pub struct Traced {
    pub events: Vec<Event>,
    /// Exit status of `stockade run` (the payload's, by its convention).
    pub status: i32,
}

/// Run `argv` (a `stockade run ...` command line) traced. `stockade_exe` is what is not
/// recorded. `fast`: `argv` loads the learning filter (`--learn-filter`), so calls are seen
/// at seccomp-stops instead of at every syscall entry and exit.
pub fn trace(argv: &[String], stockade_exe: &Path, fast: bool) -> io::Result<Traced> {
    let cargs: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in an argument"))?;
    let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: the child only calls async-signal-safe functions (raise, execv, _exit) on
    // memory prepared before the fork.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        unsafe {
            libc::raise(libc::SIGSTOP);
            libc::execv(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    let mut status = 0;
    // SAFETY: plain syscalls on our own child.
    unsafe {
        if libc::waitpid(child, &mut status, libc::WUNTRACED) != child {
            return Err(io::Error::last_os_error());
        }
        let opts = libc::PTRACE_O_EXITKILL
            | libc::PTRACE_O_TRACESYSGOOD
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEEXEC
            | if fast { libc::PTRACE_O_TRACESECCOMP } else { 0 };
        if libc::ptrace(libc::PTRACE_SEIZE, child, 0, opts as libc::c_ulong) != 0 {
            let e = io::Error::last_os_error();
            libc::kill(child, libc::SIGKILL);
            return Err(e);
        }
        libc::kill(child, libc::SIGCONT);
    }
    let mut state = Recorder::new(stockade_exe);
    let mut exit = 0;
    loop {
        let mut st = 0;
        // SAFETY: waitpid on any traced child.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
        if pid < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ECHILD) {
                break;
            }
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            if pid == child {
                exit = if libc::WIFEXITED(st) {
                    libc::WEXITSTATUS(st)
                } else {
                    128 + libc::WTERMSIG(st)
                };
            }
            state.procs.remove(&pid);
            continue;
        }
        if !libc::WIFSTOPPED(st) {
            continue;
        }
        let sig = libc::WSTOPSIG(st);
        let event = (st >> 16) & 0xff;
        let mut deliver = 0;
        // A syscall-stop, or (fast path) a seccomp-stop: both read PTRACE_GET_SYSCALL_INFO.
        if sig == libc::SIGTRAP | 0x80 || (sig == libc::SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
            state.syscall_stop(pid);
        } else if sig == libc::SIGTRAP && event != 0 {
            state.ptrace_event(pid, event);
        } else if event == 0 {
            // A signal for the tracee: pass it on.
            deliver = sig;
        }
        let request = match state.procs.get(&pid) {
            Some(p) if fast && !p.await_exit => libc::PTRACE_CONT,
            None if fast => libc::PTRACE_CONT,
            _ => libc::PTRACE_SYSCALL,
        };
        // SAFETY: `pid` is a tracee in a ptrace-stop. ESRCH (it died) is fine.
        unsafe {
            libc::ptrace(request, pid, 0, deliver as libc::c_ulong);
        }
    }
    Ok(Traced {
        events: state.events,
        status: exit,
    })
}

struct Recorder {
    stockade: PathBuf,
    procs: HashMap<libc::pid_t, Proc>,
    seen: HashSet<String>,
    events: Vec<Event>,
    /// (nr, arch, exe id) of every call already recorded: most stops repeat a call, and
    /// this check is all they cost (no name lookup, no event built).
    seen_calls: HashSet<(u64, u32, u32)>,
    exe_ids: HashMap<String, u32>,
    /// Native numbers of the calls whose results `record` reads.
    for_result: HashSet<u64>,
    /// Native numbers of execve and execveat.
    exec_calls: HashSet<u64>,
    /// Names by (nr, arch): libseccomp's lookup allocates; a build makes millions of calls.
    names: HashMap<(u64, u32), (&'static str, Option<String>)>,
}

fn readlink(p: String) -> Option<String> {
    std::fs::read_link(p)
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

impl Recorder {
    fn new(stockade: &Path) -> Recorder {
        Recorder {
            stockade: std::fs::canonicalize(stockade).unwrap_or_else(|_| stockade.to_path_buf()),
            procs: HashMap::new(),
            seen: HashSet::new(),
            events: Vec::new(),
            seen_calls: HashSet::new(),
            exe_ids: HashMap::from([(String::new(), 0)]),
            for_result: crate::exec::confine::RESULT_NEEDED
                .iter()
                .filter_map(|n| crate::exec::confine::resolve_syscall(n))
                .filter_map(|n| u64::try_from(n).ok())
                .collect(),
            exec_calls: crate::exec::confine::EXEC_CALLS
                .iter()
                .filter_map(|n| crate::exec::confine::resolve_syscall(n))
                .filter_map(|n| u64::try_from(n).ok())
                .collect(),
            names: HashMap::new(),
        }
    }

    /// The state of `pid`, inheriting from its parent when first seen.
    fn proc(&mut self, pid: libc::pid_t) -> &mut Proc {
        if !self.procs.contains_key(&pid) {
            let ppid = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("PPid:").map(|v| v.trim().parse().ok()))
                        .flatten()
                });
            let inherited = ppid
                .and_then(|pp: libc::pid_t| self.procs.get(&pp).cloned())
                .map(|p| Proc { entry: None, ..p })
                .unwrap_or_default();
            self.procs.insert(pid, inherited);
        }
        self.procs.entry(pid).or_default()
    }

    fn push(&mut self, e: Event) {
        let key = super::event::to_line(&e);
        if self.seen.insert(key) {
            self.events.push(e);
        }
    }

    fn ptrace_event(&mut self, pid: libc::pid_t, event: i32) {
        match event {
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let mut new: libc::c_ulong = 0;
                // SAFETY: GETEVENTMSG writes one unsigned long.
                unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, pid, 0, &mut new) };
                let parent = self.proc(pid).clone();
                // A vfork child may already have run (and exec'd) before its parent's event
                // is seen: what it recorded of itself stays.
                self.procs.entry(new as libc::pid_t).or_insert(Proc {
                    entry: None,
                    ..parent
                });
            }
            libc::PTRACE_EVENT_EXEC => {
                let exe = readlink(format!("/proc/{pid}/exe")).unwrap_or_default();
                let ours = Path::new(&exe) == self.stockade;
                let p = self.proc(pid);
                p.entry = None;
                p.await_exit = false;
                let named = p.pending_exec.take();
                if !ours {
                    p.recording = true;
                }
                let recording = p.recording;
                let parent_exe = std::mem::replace(&mut p.exe, exe.clone());
                let next = self.exe_ids.len() as u32;
                let id = *self.exe_ids.entry(exe.clone()).or_insert(next);
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.exe_id = id;
                }
                if recording {
                    // Its execve entered before recording began (or in the old image).
                    self.push(Event::Syscall {
                        name: "execve".into(),
                        abi: "x86_64".into(),
                        exe: exe.clone(),
                    });
                    let by = if parent_exe.is_empty() {
                        exe.clone()
                    } else {
                        parent_exe
                    };
                    // The kernel opens the ELF interpreter itself (no syscall to see), and
                    // Landlock checks execute on it too: take it from the new image's
                    // executable mappings.
                    for mapped in executable_mappings(pid) {
                        if mapped != exe {
                            self.push(Event::Path {
                                access: Access::Exec,
                                path: mapped,
                                exe: exe.clone(),
                            });
                        }
                    }
                    // A script (or a symlink to one) named by the execve: the kernel
                    // checks execute on it as well as on its interpreter.
                    if let Some(file) = named.map(|f| resolve_links(pid, &f)) {
                        if file != exe {
                            self.push(Event::Path {
                                access: Access::Exec,
                                path: file,
                                exe: by.clone(),
                            });
                        }
                    }
                    self.push(Event::Path {
                        access: Access::Exec,
                        path: exe,
                        exe: by,
                    });
                }
            }
            _ => {}
        }
    }

    fn syscall_stop(&mut self, pid: libc::pid_t) {
        let mut info = SyscallInfo {
            op: 0,
            pad: [0; 3],
            arch: 0,
            instruction_pointer: 0,
            stack_pointer: 0,
            data: [0; 7],
        };
        // SAFETY: the kernel writes at most the size given.
        let n = unsafe {
            libc::ptrace(
                PTRACE_GET_SYSCALL_INFO as _,
                pid,
                std::mem::size_of::<SyscallInfo>(),
                &mut info as *mut SyscallInfo,
            )
        };
        if n <= 0 {
            return;
        }
        match info.op {
            OP_ENTRY | OP_SECCOMP => {
                let mut args = [0u64; 6];
                args.copy_from_slice(&info.data[1..7]);
                let (nr, arch) = (info.data[0], info.arch);
                let native = arch != AUDIT_ARCH_I386 && nr & X32_BIT == 0;
                let for_result = native && self.for_result.contains(&nr);
                let exec_call = native && self.exec_calls.contains(&nr);
                if exec_call {
                    // Read even before recording starts: stockade's own exec of the payload
                    // may name a script.
                    let (dirfd, name) = if self.name(nr, arch).1.as_deref() == Some("execveat") {
                        (Some(args[0] as i32), args[1])
                    } else {
                        (None, args[0])
                    };
                    let file = read_string(pid, name).map(|f| resolve(pid, dirfd, &f));
                    self.proc(pid).pending_exec = file;
                }
                let p = self.proc(pid);
                p.entry = Some((nr, args, arch));
                // At a seccomp-stop the result is needed only for what `record` reads.
                p.await_exit = info.op == OP_SECCOMP && p.recording && for_result;
                // The call is recorded at entry: some never return (exit_group, a failed
                // exec's successor), and a refused one is still needed.
                let (recording, exe_id) = (p.recording, p.exe_id);
                if recording && self.seen_calls.insert((nr, arch, exe_id)) {
                    let exe = self.proc(pid).exe.clone();
                    let (abi, name) = self.name(nr, arch);
                    if let Some(name) = name {
                        self.push(Event::Syscall {
                            name,
                            abi: abi.to_owned(),
                            exe,
                        });
                    }
                }
            }
            OP_EXIT => {
                let p = self.proc(pid);
                p.await_exit = false;
                let Some((nr, args, arch)) = p.entry.take() else {
                    return;
                };
                if !p.recording {
                    return;
                }
                let exe = p.exe.clone();
                let rval = info.data[0] as i64;
                self.record(pid, &exe, nr, &args, arch, rval);
            }
            _ => {}
        }
    }

    fn name(&mut self, nr: u64, arch: u32) -> (&'static str, Option<String>) {
        self.names
            .entry((nr, arch))
            .or_insert_with(|| syscall_name(nr, arch))
            .clone()
    }

    fn record(&mut self, pid: libc::pid_t, exe: &str, nr: u64, a: &[u64; 6], arch: u32, rval: i64) {
        if !self.for_result.contains(&nr) || arch == AUDIT_ARCH_I386 || nr & X32_BIT != 0 {
            // Only the native path and socket calls carry more than their name.
            return;
        }
        let (abi, name) = self.name(nr, arch);
        let Some(name) = name else {
            return;
        };
        if abi != "x86_64" {
            return;
        }
        // The name in argument `i`; in the `*at` calls the argument before it is its dirfd.
        let at = name.ends_with("at") || name.ends_with("at2");
        let path_arg = |i: usize| {
            let dirfd = (at && i > 0).then(|| a[i - 1] as i32);
            read_string(pid, a[i]).map(|s| resolve(pid, dirfd, &s))
        };
        match (name.as_str(), rval) {
            ("open" | "openat" | "openat2" | "creat", fd) if fd >= 0 => {
                let Some(path) = readlink(format!("/proc/{pid}/fd/{fd}")) else {
                    return;
                };
                if !path.starts_with('/') {
                    return;
                }
                let flags = match name.as_str() {
                    "open" => a[1],
                    "openat" => a[2],
                    "creat" => libc::O_WRONLY as u64,
                    _ => 0,
                };
                let write = flags & libc::O_ACCMODE as u64 != libc::O_RDONLY as u64;
                // O_CREAT may have made the file: the rule goes on its directory.
                let access = if flags & libc::O_CREAT as u64 != 0 {
                    Access::Create
                } else if write {
                    Access::Write
                } else {
                    Access::Read
                };
                self.push(Event::Path {
                    access,
                    path,
                    exe: exe.to_owned(),
                });
            }
            ("open" | "openat" | "openat2", e) if e == -(libc::ENOENT as i64) => {
                let i = usize::from(name != "open");
                if let Some(path) = path_arg(i) {
                    self.push(Event::Missing {
                        path,
                        exe: exe.to_owned(),
                    });
                }
            }
            ("mkdir" | "unlink" | "rmdir" | "rename", 0)
            | ("mkdirat" | "unlinkat" | "renameat" | "renameat2", 0) => {
                let i = usize::from(name.ends_with("at") || name.ends_with("at2"));
                let access = if name.starts_with("mkdir") {
                    Access::Create
                } else {
                    Access::Remove
                };
                if let Some(path) = path_arg(i) {
                    self.push(Event::Path {
                        access,
                        path,
                        exe: exe.to_owned(),
                    });
                }
                if name.starts_with("rename") {
                    let j = if name == "rename" { 1 } else { 3 };
                    if let Some(path) = path_arg(j) {
                        self.push(Event::Path {
                            access: Access::Create,
                            path,
                            exe: exe.to_owned(),
                        });
                    }
                }
            }
            ("connect" | "bind", r) if r == 0 || r == -(libc::EINPROGRESS as i64) => {
                if let Some((host, port)) = read_sockaddr(pid, a[1], a[2]) {
                    let exe = exe.to_owned();
                    self.push(if name == "connect" {
                        Event::Connect { host, port, exe }
                    } else {
                        Event::Bind { host, port, exe }
                    });
                }
            }
            ("bind", e)
                if e == -(libc::EACCES as i64)
                    && read_sockaddr(pid, a[1], a[2]).is_some_and(|(_, p)| p < 1024) =>
            {
                self.push(Event::Denied {
                    syscall: "bind".into(),
                    cap: "CAP_NET_BIND_SERVICE".into(),
                    exe: exe.to_owned(),
                });
                // With the capability the bind succeeds: the port belongs to the bind list.
                if let Some((host, port)) = read_sockaddr(pid, a[1], a[2]) {
                    self.push(Event::Bind {
                        host,
                        port,
                        exe: exe.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
}

/// Files mapped executable in `pid` (the program and its ELF interpreter after an exec).
fn executable_mappings(pid: libc::pid_t) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut out: Vec<String> = maps
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let perms = f.nth(1)?;
            let path = f.nth(3)?;
            (perms.contains('x') && path.starts_with('/')).then(|| path.to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// ABI and name of a syscall number.
fn syscall_name(nr: u64, arch: u32) -> (&'static str, Option<String>) {
    use libseccomp::{ScmpArch, ScmpSyscall};
    let (abi, sarch, nr) = if arch == AUDIT_ARCH_I386 {
        ("x86", ScmpArch::X86, nr)
    } else if nr & X32_BIT != 0 {
        ("x32", ScmpArch::X32, nr)
    } else {
        ("x86_64", ScmpArch::X8664, nr)
    };
    let name = i32::try_from(nr)
        .ok()
        .and_then(|n| ScmpSyscall::from(n).get_name_by_arch(sarch).ok());
    (abi, name)
}

fn read_mem(pid: libc::pid_t, addr: u64, len: usize) -> Option<Vec<u8>> {
    let f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; len];
    let n = f.read_at(&mut buf, addr).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn read_string(pid: libc::pid_t, addr: u64) -> Option<String> {
    let buf = read_mem(pid, addr, 4096)?;
    let end = buf.iter().position(|&b| b == 0)?;
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// A name as the kernel resolves it: absolute, relative to the tracee's working directory
/// (no dirfd, or `AT_FDCWD`), or relative to the directory its `dirfd` refers to
/// (`/proc/PID/fd/N`, read at the syscall's exit while the fd is still open).
fn resolve(pid: libc::pid_t, dirfd: Option<i32>, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let base = match dirfd {
        Some(fd) if fd != libc::AT_FDCWD && fd >= 0 => readlink(format!("/proc/{pid}/fd/{fd}")),
        _ => None,
    }
    .or_else(|| readlink(format!("/proc/{pid}/cwd")))
    .unwrap_or_else(|| "/".into());
    if name.is_empty() {
        return base;
    }
    format!("{}/{name}", base.trim_end_matches('/'))
}

/// `path` (absolute, as the tracee sees it) with every symlink resolved inside the
/// tracee's root (`/proc/PID/root`, which is the sandbox's root, not ours). At most 40
/// links, as the kernel allows; a loop or an unreadable link stops the walk there.
fn resolve_links(pid: libc::pid_t, path: &str) -> String {
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut done = PathBuf::from("/");
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let next = done.join(&c);
        let inside = root.join(next.strip_prefix("/").unwrap_or(&next));
        match std::fs::read_link(&inside) {
            Ok(target) if links < 40 => {
                links += 1;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done = PathBuf::from("/");
                }
                todo.extend(t.split('/').rev().map(str::to_owned));
            }
            _ => done = next,
        }
    }
    done.to_string_lossy().into_owned()
}

fn read_sockaddr(pid: libc::pid_t, addr: u64, len: u64) -> Option<(String, u16)> {
    let b = read_mem(pid, addr, usize::try_from(len.min(128)).ok()?)?;
    let family = u16::from_ne_bytes([*b.first()?, *b.get(1)?]);
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let ip = std::net::Ipv4Addr::new(*b.get(4)?, *b.get(5)?, *b.get(6)?, *b.get(7)?);
            Some((ip.to_string(), port))
        }
        libc::AF_INET6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b.get(8..24)?);
            Some((std::net::Ipv6Addr::from(o).to_string(), port))
        }
        _ => None,
    }
}
