//! The Plan: the fully resolved, serializable intermediate representation of a profile.
//!
//! It is equivalent to an OCI runtime `config.json` plus what OCI cannot say (Landlock,
//! wall-time limit, init). Every path is absolute and normalized, every size in bytes, every
//! name (syscall, capability, signal, rlimit) resolved to a number, every default explicit.
//! Nothing in it is optional for the executor to re-check: an `Option` here means "the
//! profile asked for nothing", never "decide later".
//!
//! `steps` is the one ordered list the executor runs; see [`step`] for the ordering rules.

pub mod explain;
pub mod provenance;
pub mod step;

use serde::Serialize;
use std::path::PathBuf;

pub use crate::profile::landlock::Compat;
pub use crate::profile::namespaces::NetworkMode;
pub use step::{Phase, Step};

/// A compiled profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Where the profile came from (a path or `builtin:NAME`).
    pub source: String,
    pub description: Option<String>,
    pub process: ProcessPlan,
    pub namespaces: NamespacePlan,
    pub network: NetworkMode,
    /// With `network.mode = "proxy"`: the allow list and the proxy's listeners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress: Option<EgressPlan>,
    pub root: RootPlan,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// Mounts in profile order; `Step::Mount(i)` refers to `mounts[i]`.
    pub mounts: Vec<MountPlan>,
    pub masked_paths: Vec<PathBuf>,
    pub read_only_paths: Vec<PathBuf>,
    /// Paths inside writable binds made read-only and not creatable (`Step::ProtectPaths`).
    pub protected_paths: Vec<ProtectedPath>,
    /// Protected paths the profile opted out of (`filesystem.unprotected`): left writable.
    pub unprotected_paths: Vec<ProtectedPath>,
    pub resources: Option<ResourcePlan>,
    pub rlimits: Vec<RlimitPlan>,
    pub seccomp: Option<SeccompPlan>,
    pub landlock: Option<LandlockPlan>,
    pub capabilities: CapsPlan,
    pub systemd: SystemdPlan,
    /// Warnings the compiler found (the plan is still valid).
    pub warnings: Vec<String>,
    /// The ordered steps (see [`step`]).
    pub steps: Vec<Step>,
}

/// The payload process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessPlan {
    pub argv: Vec<String>,
    /// Final environment, `NAME=value`, sorted by name.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub umask: u32,
    pub new_session: bool,
    /// `process.terminal`: whether the payload gets its own pty (`Auto`: decided at launch).
    pub terminal: Terminal,
    /// stockade's init runs: PID 1 of the new PID namespace, or without `namespaces.pid`
    /// (always) the payload's parent, subreaper of its orphans, which it kills on exit.
    pub init: bool,
    pub die_with_parent: bool,
    pub timeout_ms: Option<u64>,
    pub kill_signal: Signal,
    pub grace_ms: u64,
}

/// Whether the payload gets its own pseudo-terminal (`process.terminal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Terminal {
    /// A pty when stockade's stdin and stdout are both terminals, decided at launch (the
    /// compiler is pure: it cannot look at the caller's fds).
    Auto,
    /// Always a pty.
    Always,
    /// Never: the payload inherits stockade's fds 0, 1 and 2.
    Never,
}

/// A signal, by number and canonical name (`SIGTERM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub number: i32,
    pub name: String,
}

/// Namespaces to create and the user namespace's id maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespacePlan {
    pub user: bool,
    pub mount: bool,
    pub pid: bool,
    pub net: bool,
    pub ipc: bool,
    pub uts: bool,
    pub cgroup: bool,
    pub time: bool,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// The maps need newuidmap/newgidmap (more than the caller's own id, as non-root).
    pub uid_map_helper: bool,
    pub gid_map_helper: bool,
    pub time_offsets: TimeOffsets,
}

impl NamespacePlan {
    /// Names of the namespaces created, in a fixed order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.user, "user"),
            (self.mount, "mount"),
            (self.pid, "pid"),
            (self.net, "net"),
            (self.ipc, "ipc"),
            (self.uts, "uts"),
            (self.cgroup, "cgroup"),
            (self.time, "time"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// One range of an id map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Time namespace clock offsets in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TimeOffsets {
    pub monotonic: i64,
    pub boottime: i64,
}

/// The root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootPlan {
    pub kind: RootKind,
    pub read_only: bool,
}

/// Where the root comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RootKind {
    /// An empty tmpfs populated by the mounts.
    Tmpfs,
    /// A host directory holding a root filesystem.
    Directory { path: PathBuf },
}

/// Flags shared by mount types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MountFlags {
    pub read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
}

/// One mount, target absolute inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountPlan {
    pub target: PathBuf,
    pub flags: MountFlags,
    pub op: MountOp,
    /// Host paths of this mount that the profile allowed to go through symlinks
    /// (`follow-symlinks = true`), resolved when the plan was made: `op` holds the
    /// resolved paths, which the executor opens without following any link.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links_followed: Vec<FollowedLink>,
}

/// A host path written through a symlink, and what it resolved to at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowedLink {
    /// The path as the profile wrote it (after variable expansion).
    pub written: PathBuf,
    /// The first component of it that is a symlink, and that link's content.
    pub link: PathBuf,
    pub points_to: PathBuf,
    /// The fully resolved path: what is mounted.
    pub resolved: PathBuf,
}

/// What a mount does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum MountOp {
    Bind {
        source: PathBuf,
        recursive: bool,
        /// Skip silently when `source` is missing.
        optional: bool,
    },
    Tmpfs {
        size: Option<u64>,
        mode: u32,
    },
    Proc {
        /// The kernel interfaces stay unmasked (for nested sandboxes); omitted when false so
        /// plans without it read as before.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        unmasked: bool,
    },
    Dev,
    Devpts,
    Mqueue,
    Dir {
        mode: u32,
    },
    File {
        content: String,
        mode: u32,
    },
    Symlink {
        link: String,
    },
    Overlay {
        lower: Vec<PathBuf>,
        upper: Option<PathBuf>,
        work: Option<PathBuf>,
    },
}

impl MountOp {
    /// Short name of the mount type, as written in profiles.
    pub fn kind_name(&self) -> &'static str {
        match self {
            MountOp::Bind { .. } => "bind",
            MountOp::Tmpfs { .. } => "tmpfs",
            MountOp::Proc { .. } => "proc",
            MountOp::Dev => "dev",
            MountOp::Devpts => "devpts",
            MountOp::Mqueue => "mqueue",
            MountOp::Dir { .. } => "dir",
            MountOp::File { .. } => "file",
            MountOp::Symlink { .. } => "symlink",
            MountOp::Overlay { .. } => "overlay",
        }
    }
}

/// A path inside a writable bind that the payload must not change or create: a file that
/// git, direnv, an editor or the user's shell runs on the host later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedPath {
    /// The name in `filesystem.unprotected` (`.git/hooks`, `~/.bashrc`).
    pub name: String,
    /// Where it is inside the sandbox.
    pub path: PathBuf,
    /// Where it is on the host (beneath the bind's source).
    pub host: PathBuf,
    /// Its path relative to the bind's source (and target).
    pub rel: PathBuf,
    /// A missing one gets an empty directory (else an empty file) as placeholder.
    pub dir: bool,
}

/// cgroup limits, all resolved to kernel units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourcePlan {
    pub compat: Compat,
    pub memory_max: Option<u64>,
    pub memory_high: Option<u64>,
    pub memory_swap_max: Option<u64>,
    /// CPU quota in microseconds per `cpu_period_us`.
    pub cpu_quota_us: Option<u64>,
    pub cpu_period_us: u64,
    pub cpu_weight: Option<u64>,
    pub pids_max: Option<u64>,
    pub io_weight: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
}

/// `u64::MAX` stands for RLIM_INFINITY.
pub const RLIM_UNLIMITED: u64 = u64::MAX;

/// One resource limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RlimitPlan {
    /// `RLIMIT_NOFILE`, ...
    pub name: String,
    /// The resource number for setrlimit(2).
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// What a seccomp rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum SeccompAction {
    Allow,
    Errno { errno: i32 },
    KillProcess,
    KillThread,
    Trap,
    Log,
}

/// The seccomp filter, by syscall name (numbers are resolved for the native arch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeccompPlan {
    pub default_action: SeccompAction,
    pub rules: Vec<SeccompRulePlan>,
    /// Extra ABIs accepted besides the native one (`x86`, `x32`).
    pub extra_architectures: Vec<String>,
    pub log: bool,
}

/// One (syscall, conditions) → action rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeccompRulePlan {
    pub syscall: String,
    pub action: SeccompAction,
    pub args: Vec<SeccompArgPlan>,
}

/// Comparison operators, as libseccomp and OCI name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

/// A condition on one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeccompArgPlan {
    pub index: u8,
    pub op: SeccompOp,
    pub value: u64,
    /// Only for `MaskedEq`.
    pub mask: u64,
}

impl SeccompRulePlan {
    pub fn new(syscall: &str, action: SeccompAction, args: Vec<SeccompArgPlan>) -> Self {
        SeccompRulePlan {
            syscall: syscall.to_string(),
            action,
            args,
        }
    }
}

impl SeccompArgPlan {
    /// `arg[index] op value` (any operator but `MaskedEq`).
    pub fn compare(index: u8, op: SeccompOp, value: u64) -> Self {
        SeccompArgPlan {
            index,
            op,
            value,
            mask: 0,
        }
    }

    /// `arg[index] & mask == value`.
    pub fn masked(index: u8, mask: u64, value: u64) -> Self {
        SeccompArgPlan {
            index,
            op: SeccompOp::MaskedEq,
            value,
            mask,
        }
    }
}

/// A Landlock ruleset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockPlan {
    pub compat: Compat,
    /// The ABI requested (never derived from the running kernel).
    pub abi: u8,
    /// Filesystem rights handled by the ruleset (denied unless a rule grants them).
    pub handled_fs: Vec<String>,
    /// Path rules, path inside the sandbox → rights (names as in the profile).
    pub paths: Vec<LandlockPathPlan>,
    /// `Some`: TCP bind is restricted to these ports.
    pub bind_tcp: Option<Vec<u16>>,
    /// `Some`: TCP connect is restricted to these ports.
    pub connect_tcp: Option<Vec<u16>>,
    /// `abstract-unix-socket`, `signal`.
    pub scopes: Vec<String>,
    /// Features that must be enforced whatever `compat` says (`landlock.required`): `bind-tcp`,
    /// `connect-tcp`, scope names, access right names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

/// Rights granted beneath one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockPathPlan {
    pub path: PathBuf,
    pub access: Vec<String>,
    /// Provided only by an `optional` bind: when that bind's source is missing the path is
    /// too, and the rule is left out (it could only have granted access, never taken any).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// A capability by number and canonical name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cap {
    pub number: u8,
    pub name: String,
}

/// Capabilities and privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapsPlan {
    pub keep: Vec<Cap>,
    pub ambient: Vec<Cap>,
    pub no_new_privs: bool,
}

/// Where the sd_notify relay socket appears inside the sandbox: the payload's
/// `NOTIFY_SOCKET` (the path systemd-nspawn uses for its containers too).
pub const NOTIFY_SANDBOX_PATH: &str = "/run/host/notify";

/// Service-manager pass-through, resolved against the caller's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemdPlan {
    /// Relay sd_notify messages from the payload to this socket.
    pub notify_socket: Option<String>,
    /// Relay messages from any process of the sandbox (`notify-access = "all"`), not only
    /// from the payload's main process.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub notify_all: bool,
    /// Pass this many socket-activation fds (from fd 3) into the sandbox.
    pub listen_fds: Option<ListenFds>,
    /// Forward signals from the service manager too (`kill-mode = "process"`); by default
    /// systemd delivered them to every process of the cgroup already.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forward_manager_signals: bool,
}

/// Socket-activation fds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenFds {
    pub count: u32,
    pub names: Option<String>,
}

/// `network.mode = "proxy"`: what the proxy allows and where it listens inside the sandbox
/// (all on the sandbox's own 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EgressPlan {
    /// The allow list, in profile order (an entry's index is its position here).
    pub allow: Vec<crate::net::HostPattern>,
    pub http_port: u16,
    pub socks_port: u16,
    pub dns_port: u16,
    /// `/etc/resolv.conf` and `/etc/hosts` are generated (appended to `mounts`); false when
    /// the root or a profile mount provides `/etc`, so writing there could reach the host.
    pub generated_etc: bool,
}
