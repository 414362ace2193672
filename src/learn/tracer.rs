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
use super::tracee::{
    executable_mappings, read_mem, read_sockaddr, read_string, readlink, resolve, resolve_links,
    syscall_name, AUDIT_ARCH_I386, X32_BIT,
};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const OP_ENTRY: u8 = 1;
const OP_EXIT: u8 = 2;
const OP_SECCOMP: u8 = 3;
const PTRACE_EVENT_SECCOMP: i32 = 7;

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
    /// Native numbers of the calls with arguments seccomp could filter (`learn::args`).
    arg_calls: HashSet<u64>,
    /// (nr, value, exe id) of every argument already recorded.
    seen_args: HashSet<(u64, String, u32)>,
    /// Names by (nr, arch): libseccomp's lookup allocates; a build makes millions of calls.
    names: HashMap<(u64, u32), (&'static str, Option<String>)>,
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
                .chain(crate::exec::confine::EPERM_CAPS.iter().map(|(c, _)| c))
                .filter_map(|n| crate::exec::confine::resolve_syscall(n))
                .filter_map(|n| u64::try_from(n).ok())
                .collect(),
            exec_calls: crate::exec::confine::EXEC_CALLS
                .iter()
                .filter_map(|n| crate::exec::confine::resolve_syscall(n))
                .filter_map(|n| u64::try_from(n).ok())
                .collect(),
            arg_calls: super::args::CALLS
                .iter()
                .filter_map(|n| crate::exec::confine::resolve_syscall(n))
                .filter_map(|n| u64::try_from(n).ok())
                .collect(),
            seen_args: HashSet::new(),
            names: HashMap::new(),
        }
    }

    /// The state of `pid`, inheriting from its parent when first seen.
    fn proc(&mut self, pid: libc::pid_t) -> &mut Proc {
        if !self.procs.contains_key(&pid) {
            // Seen before its creator's clone event (the new task ran first): a thread takes
            // its state from its thread group's leader (a thread's PPid is the process's
            // parent, which is not recording), a process from its parent.
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |name: &str| -> Option<libc::pid_t> {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().ok()))
                    .flatten()
            };
            let from = match field("Tgid:") {
                Some(tgid) if tgid != pid => Some(tgid),
                _ => field("PPid:"),
            };
            let inherited = from
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
                if recording && native && self.arg_calls.contains(&nr) {
                    self.record_argument(pid, nr, &args, exe_id);
                }
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

    /// The filterable argument of a native call, once per (call, value, program).
    fn record_argument(&mut self, pid: libc::pid_t, nr: u64, a: &[u64; 6], exe_id: u32) {
        let Some(name) = self.name(nr, 0).1 else {
            return;
        };
        // clone3's flags are the first u64 of the struct its first argument points to.
        let clone3 = (name == "clone3")
            .then(|| read_mem(pid, a[0], 8))
            .flatten()
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_ne_bytes);
        let Some((what, value)) = super::args::filterable(&name, a, clone3) else {
            return;
        };
        if self.seen_args.insert((nr, value.clone(), exe_id)) {
            let exe = self.proc(pid).exe.clone();
            self.push(Event::Argument {
                syscall: name,
                what: what.to_owned(),
                value,
                exe,
            });
        }
    }

    fn record(&mut self, pid: libc::pid_t, exe: &str, nr: u64, a: &[u64; 6], arch: u32, rval: i64) {
        if !self.for_result.contains(&nr) || arch == AUDIT_ARCH_I386 || nr & X32_BIT != 0 {
            // Only the native path, socket and capability-revealing calls carry more than
            // their name.
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
            ("open" | "openat" | "creat", e) if e == -(libc::EACCES as i64) => {
                // Refused (by the profile's Landlock ruleset, or by file permissions, which
                // a rule cannot override anyway): what the program needed. openat2 is
                // left out: its flags are in a struct.
                let i = usize::from(name == "openat");
                let flags = match name.as_str() {
                    "open" => a[1],
                    "openat" => a[2],
                    _ => (libc::O_WRONLY | libc::O_CREAT) as u64,
                };
                if let Some(path) = path_arg(i) {
                    let access = if flags & libc::O_CREAT as u64 != 0 {
                        Access::Create
                    } else if flags & libc::O_ACCMODE as u64 != libc::O_RDONLY as u64 {
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
            (call, e) if e == -(libc::EPERM as i64) => {
                if let Some(cap) = super::args::capability_for_eperm(call) {
                    self.push(Event::Denied {
                        syscall: call.to_owned(),
                        cap: cap.to_owned(),
                        exe: exe.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
}
