//! The lockdown phase: capabilities, no_new_privs, Landlock, rlimits, seccomp.
//!
//! Split into a parent half and a child half, like crun's `libcrun_generate_seccomp` /
//! `libcrun_apply_seccomp`:
//!
//! - **parent, before clone**: [`compile_seccomp`] (libseccomp's BPF generator allocates),
//!   [`check_landlock`] (fails a `compat = "required"` run whose kernel lacks a feature, with a
//!   message naming the profile key), [`prepare_landlock`] (path strings and access masks).
//! - **child, after every mount change**: [`SeccompProgram::load`],
//!   [`PreparedLandlock::apply`], [`drop_bounding_set`], [`set_capabilities`],
//!   [`apply_rlimits`], [`set_no_new_privs`]. They only make syscalls and return an errno
//!   (`nix::Error`) for the executor's fixed-size failure record.
//!
//! The order between them is the Plan's (see `plan::step`): bounding set while CAP_SETPCAP
//! is still effective, then the other capability sets, no_new_privs, Landlock (after every
//! mount: a landlocked process cannot mount), RLIMIT_NOFILE (after Landlock opened its path
//! fds), seccomp last (everything after it runs under the filter).

mod caps;
mod failure;
mod landlock;
mod learning;
mod rlimit;
mod seccomp;

pub use self::caps::{drop_bounding_set, set_capabilities, set_no_new_privs};
pub use self::failure::{describe_call, last_call, Call};
pub use self::landlock::{
    access_min_abi, apply_landlock, check_landlock, kernel_landlock_abi, prepare_landlock,
    scope_min_abi, LandlockStatus, PreparedLandlock, NET_MIN_ABI,
};
pub use self::learning::{learning_filter, EPERM_CAPS, EXEC_CALLS, RESULT_NEEDED};
pub use self::rlimit::apply_rlimits;
pub use self::seccomp::{compile_seccomp, resolve_syscall, SeccompProgram};

/// Errors preparing confinement in the parent.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("seccomp: libseccomp cannot resolve syscall `{0}` on this architecture, so it cannot be denied")]
    UnknownSyscall(String),
    #[error("seccomp: errno {0} is out of range (0..=4095)")]
    BadErrno(i32),
    #[error("seccomp: argument index {0} is out of range (0..=5)")]
    BadArgIndex(u8),
    #[error("seccomp: unknown architecture `{0}` (expected x86, x32)")]
    UnknownArch(String),
    #[error("seccomp: rule for `{syscall}` rejected by libseccomp: {reason}")]
    Rule { syscall: String, reason: String },
    #[error("seccomp: {what}: {reason}")]
    Libseccomp { what: &'static str, reason: String },
    #[error("seccomp: the filter compiles to {0} BPF instructions, more than the kernel's 4096; use fewer rules or @groups")]
    TooLong(usize),
    #[error("seccomp: exporting the BPF program: {0}")]
    Export(std::io::Error),
    #[error("landlock: unknown access right `{0}`")]
    UnknownAccess(String),
    #[error("landlock: unknown scope `{0}` (expected abstract-unix-socket, signal)")]
    UnknownScope(String),
    #[error("landlock: {feature} needs Landlock ABI {needs}, but the profile pins landlock.abi = {pinned}")]
    AbovePinnedAbi {
        feature: String,
        needs: u8,
        pinned: u8,
    },
    #[error("landlock: path `{0}` contains a NUL byte")]
    BadPath(std::path::PathBuf),
    /// `compat = "required"` and the kernel lacks something the profile asks for.
    #[error("{}; set landlock.compat = \"best-effort\" to run without {}", .missing.join("; "), if .missing.len() == 1 { "it" } else { "them" })]
    LandlockUnsupported { missing: Vec<String> },
    /// A feature `landlock.required` names is missing: no `compat` setting runs without it.
    #[error("{}; run on a kernel with that Landlock ABI, or remove the entry from landlock.required", .missing.join("; "))]
    LandlockRequired { missing: Vec<String> },
}

#[cfg(test)]
mod tests;
