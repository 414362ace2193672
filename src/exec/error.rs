//! Executor errors, and the fixed-size record the child sends its parent.

use crate::cgroup::CgroupError;
use crate::exec::confine::ConfineError;
use nix::errno::Errno;
use std::path::PathBuf;

/// Exit code for launcher and setup failures (the `env`/`chroot` convention).
pub const EXIT_SETUP_FAILURE: i32 = 125;
/// Exit code when the command exists but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: i32 = 126;
/// Exit code when the command is not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The system calls the child can fail in, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Call {
    Mount = 0,
    OpenTree,
    MoveMount,
    Fsopen,
    Fsconfig,
    Fsmount,
    MountSetattr,
    Openat2,
    Open,
    Mkdir,
    Write,
    Symlink,
    Fchmod,
    PivotRoot,
    Umount2,
    Chdir,
    Sethostname,
    Setdomainname,
    Setsid,
    Prctl,
    Setgroups,
    Setresgid,
    Setresuid,
    Unshare,
    Ioctl,
    Socket,
    Execve,
    Fork,
    Read,
    Stat,
    Setrlimit,
    Capset,
    Landlock,
    Seccomp,
    CloseRange,
    OpenHostPath,
    VerifyMount,
    SandboxPath,
    Dup2,
}

impl Call {
    const ALL: [Call; 39] = [
        Call::Mount,
        Call::OpenTree,
        Call::MoveMount,
        Call::Fsopen,
        Call::Fsconfig,
        Call::Fsmount,
        Call::MountSetattr,
        Call::Openat2,
        Call::Open,
        Call::Mkdir,
        Call::Write,
        Call::Symlink,
        Call::Fchmod,
        Call::PivotRoot,
        Call::Umount2,
        Call::Chdir,
        Call::Sethostname,
        Call::Setdomainname,
        Call::Setsid,
        Call::Prctl,
        Call::Setgroups,
        Call::Setresgid,
        Call::Setresuid,
        Call::Unshare,
        Call::Ioctl,
        Call::Socket,
        Call::Execve,
        Call::Fork,
        Call::Read,
        Call::Stat,
        Call::Setrlimit,
        Call::Capset,
        Call::Landlock,
        Call::Seccomp,
        Call::CloseRange,
        Call::OpenHostPath,
        Call::VerifyMount,
        Call::SandboxPath,
        Call::Dup2,
    ];

    /// `mount(2)`-style name.
    pub fn name(self) -> &'static str {
        match self {
            Call::Mount => "mount(2)",
            Call::OpenTree => "open_tree(2)",
            Call::MoveMount => "move_mount(2)",
            Call::Fsopen => "fsopen(2)",
            Call::Fsconfig => "fsconfig(2)",
            Call::Fsmount => "fsmount(2)",
            Call::MountSetattr => "mount_setattr(2)",
            Call::Openat2 => "openat2(2)",
            Call::Open => "open(2)",
            Call::Mkdir => "mkdir(2)",
            Call::Write => "write(2)",
            Call::Symlink => "symlink(2)",
            Call::Fchmod => "fchmod(2)",
            Call::PivotRoot => "pivot_root(2)",
            Call::Umount2 => "umount2(2)",
            Call::Chdir => "chdir(2)",
            Call::Sethostname => "sethostname(2)",
            Call::Setdomainname => "setdomainname(2)",
            Call::Setsid => "setsid(2)",
            Call::Prctl => "prctl(2)",
            Call::Setgroups => "setgroups(2)",
            Call::Setresgid => "setresgid(2)",
            Call::Setresuid => "setresuid(2)",
            Call::Unshare => "unshare(2)",
            Call::Ioctl => "ioctl(2)",
            Call::Socket => "socket(2)",
            Call::Execve => "execve(2)",
            Call::Fork => "fork(2)",
            Call::Read => "read(2)",
            Call::Stat => "stat(2)",
            Call::Setrlimit => "setrlimit(2)",
            Call::Capset => "capset(2)",
            Call::Landlock => "landlock(2)",
            Call::Seccomp => "seccomp(2)",
            Call::CloseRange => "close_range(2)",
            Call::OpenHostPath => "host path, RESOLVE_NO_SYMLINKS: openat2(2)",
            Call::VerifyMount => "checking the mount landed on its target: fstat(2)",
            Call::SandboxPath => "path in the sandbox, RESOLVE_NO_SYMLINKS: openat2(2)",
            Call::Dup2 => "dup2(2)",
        }
    }

    pub fn from_u32(v: u32) -> Option<Call> {
        Call::ALL.get(v as usize).copied()
    }
}

/// A failure inside the child: which syscall, which errno, and for a step that walks a
/// list of paths, the index of the one it failed on (sent as the record's `data2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail {
    pub call: Call,
    pub errno: Errno,
    pub at: u32,
}

impl Fail {
    pub fn new(call: Call, errno: Errno) -> Fail {
        Fail { call, errno, at: 0 }
    }

    /// The same failure, on entry `index` of the step's path list.
    pub fn at(self, index: usize) -> Fail {
        Fail {
            at: index as u32,
            ..self
        }
    }
}

/// Attach a syscall name to an Errno result.
pub trait Ctx<T> {
    fn ctx(self, call: Call) -> Result<T, Fail>;
}

impl<T> Ctx<T> for Result<T, Errno> {
    fn ctx(self, call: Call) -> Result<T, Fail> {
        self.map_err(|e| Fail::new(call, e))
    }
}

/// Kinds of [`Record`].
pub mod record_kind {
    /// A step failed: `step`, `call`, `errno`.
    pub const FAILED: u32 = 1;
    /// The Landlock step finished: `data` = ruleset status, `data2` = missing bits.
    pub const LANDLOCK: u32 = 2;
    /// An optional bind source was missing; mount `step` was skipped.
    pub const SKIPPED: u32 = 3;
}

/// Pseudo step indexes for work done outside the plan's steps.
pub mod pseudo_step {
    /// Waiting for the parent (id maps, cgroup).
    pub const SYNC: u32 = u32::MAX;
    /// Bringing up loopback in the new network namespace.
    pub const LOOPBACK: u32 = u32::MAX - 1;
    /// Creating the time namespace and writing its clock offsets.
    pub const TIME_NS: u32 = u32::MAX - 2;
    /// Entering a new cgroup namespace.
    pub const CGROUP_NS: u32 = u32::MAX - 3;
    /// Closing inherited file descriptors.
    pub const CLOSE_FDS: u32 = u32::MAX - 4;
    /// Starting the init process (fork).
    pub const INIT: u32 = u32::MAX - 5;
    /// Creating the proxy's listeners in the network namespace and sending them over.
    pub const EGRESS: u32 = u32::MAX - 6;
}

/// The fixed-size record the child writes to the status pipe (well under PIPE_BUF, so
/// each write is atomic).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub kind: u32,
    pub step: u32,
    pub call: u32,
    pub errno: i32,
    pub data: u64,
    pub data2: u64,
}

impl Record {
    pub const SIZE: usize = std::mem::size_of::<Record>();

    pub fn to_bytes(self) -> [u8; Record::SIZE] {
        // SAFETY: Record is repr(C) plain data without padding (4*4 + 2*8 bytes).
        unsafe { std::mem::transmute::<Record, [u8; Record::SIZE]>(self) }
    }

    pub fn from_bytes(b: [u8; Record::SIZE]) -> Record {
        // SAFETY: every bit pattern is a valid Record.
        unsafe { std::mem::transmute::<[u8; Record::SIZE], Record>(b) }
    }
}

/// Everything that can go wrong running a plan.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// `network.mode = "proxy"`: the proxy process could not be started.
    #[error("network proxy: {0}")]
    Egress(String),
    /// `process.terminal`: the payload's pty could not be opened.
    #[error("process.terminal: opening a pty for the payload: {0}")]
    Pty(#[source] std::io::Error),
    #[error("{what} contains a NUL byte: {value:?}")]
    NulByte { what: &'static str, value: String },
    #[error("{what} is not a valid relative path inside the sandbox: {path}")]
    BadTarget { what: &'static str, path: PathBuf },
    #[error("too many file descriptors to pass: {0}")]
    TooManyFds(usize),
    #[error("{call}: {errno:?}")]
    Syscall { call: &'static str, errno: Errno },
    #[error("creating the sandbox's namespaces: clone3(2): {errno:?}{}", match errno {
        Errno::EPERM => " (without root, `namespaces.user = true` is needed; also check /proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone)",
        Errno::EINVAL => " (a namespace type this kernel does not support?)",
        Errno::ENOSPC | Errno::EUSERS => " (the namespace limit in /proc/sys/user/ is reached)",
        _ => "",
    })]
    Clone { errno: Errno },
    #[error("preparing confinement: {0}")]
    Confine(#[from] ConfineError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Notify(#[from] super::notify::NotifyError),
    #[error(transparent)]
    ListenFds(#[from] super::listen_fds::ListenFdsError),
    #[error("{helper} is not installed (package `uidmap`); the profile's {key} has more than one range and needs it")]
    HelperMissing {
        helper: &'static str,
        key: &'static str,
    },
    #[error("{helper} {pid} failed: {detail}")]
    HelperFailed {
        helper: &'static str,
        pid: i32,
        detail: String,
    },
    #[error("writing {path}: {errno:?}{}", if *errno == Errno::EPERM && path.ends_with("uid_map") && root_without_setfcap() {
        " (this map gives uid 0 of this namespace to the sandbox, which the kernel allows only with CAP_SETFCAP here; nested in another sandbox, the outer profile must keep it: `capabilities.keep = [\"CAP_SETFCAP\"]`, or run the outer payload as a non-root user)"
    } else { "" })]
    IdMap { path: String, errno: Errno },
    /// The `--report` file cannot be used safely (opened before the sandbox starts).
    #[error("report file {path}: {reason}")]
    ReportFile { path: PathBuf, reason: String },
    /// A protected path inside a writable tree cannot be protected.
    #[error("protected path {path}: {reason}")]
    Protect { path: PathBuf, reason: String },
    #[error("step {index}/{total} ({desc}): {call}: {errno:?}{}", super::hints::step_hint(desc, call, *errno))]
    Step {
        index: usize,
        total: usize,
        desc: String,
        /// `mount(2)`, or what a confinement function was doing (`open(2) of landlock
        /// path /srv`).
        call: String,
        errno: Errno,
    },
    #[error("{desc}: {call}: {errno:?}")]
    Setup {
        desc: &'static str,
        call: &'static str,
        errno: Errno,
    },
    #[error("step {index}/{total} ({desc}): {call}: {errno:?} ({}){hint}", if *.not_found { "command not found" } else { "not executable" })]
    Exec {
        index: usize,
        total: usize,
        desc: String,
        call: &'static str,
        errno: Errno,
        not_found: bool,
        /// Why, when the plan tells (a Landlock `exec` list that does not cover it); "" else.
        hint: String,
    },
    #[error("timeout: the sandbox's setup took longer than the {after_ms} ms limit; killed it")]
    SetupTimeout { after_ms: u64 },
}

impl ExecError {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::Exec {
                not_found: true, ..
            } => EXIT_NOT_FOUND,
            ExecError::Exec { .. } => EXIT_NOT_EXECUTABLE,
            _ => EXIT_SETUP_FAILURE,
        }
    }
}

/// Wrap a parent-side syscall failure.
pub fn sys_err(call: &'static str) -> impl FnOnce(Errno) -> ExecError {
    move |errno| ExecError::Syscall { call, errno }
}

/// uid 0 (so the default map's outside id is 0) without CAP_SETFCAP: the kernel refuses
/// to map uid 0 of the parent namespace into a new one without that capability
/// (user_namespaces(7), "Defining user and group ID mappings").
fn root_without_setfcap() -> bool {
    nix::unistd::geteuid().is_root()
        && !caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETFCAP)
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_bytes() {
        let r = Record {
            kind: record_kind::LANDLOCK,
            step: 7,
            call: Call::Landlock as u32,
            errno: -3,
            data: u64::MAX,
            data2: 42,
        };
        assert_eq!(Record::SIZE, 32);
        assert_eq!(Record::from_bytes(r.to_bytes()), r);
    }

    #[test]
    fn every_call_round_trips_and_has_a_name() {
        for (i, c) in Call::ALL.iter().enumerate() {
            assert_eq!(
                *c as usize, i,
                "Call::ALL must list calls in discriminant order"
            );
            assert_eq!(Call::from_u32(i as u32), Some(*c));
            assert!(c.name().ends_with("(2)"));
        }
        assert_eq!(Call::from_u32(Call::ALL.len() as u32), None);
    }
}
