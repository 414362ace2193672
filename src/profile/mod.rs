//! The profile wire model: serde types that mirror `schema/profile.schema.json` one to one.
//!
//! No logic lives here. Every field is optional so that a profile can be a partial layer that
//! `extends` completes; defaults are made explicit by the compiler, not by serde. Unknown keys
//! are rejected everywhere: in a security tool a misspelt key must not silently weaken the
//! sandbox.

pub mod audit;
pub mod builtin;
pub mod caps;
pub mod cgroup;
pub mod compose;
pub mod env;
pub mod filesystem;
pub mod hints;
pub mod landlock;
pub mod load;
pub mod merge;
pub mod mount;
pub mod namespaces;
pub mod node;
pub mod phase;
pub mod process;
pub mod remove;
pub mod rlimit;
pub mod seccomp;
pub mod systemd;
pub mod value;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use value::{Cores, IntOrString, RlimitValue, TerminalSetting};

/// A stockade profile (format version 1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "stockade profile")]
pub struct Profile {
    /// Format version of this profile. Must be 1.
    pub version: Option<u32>,
    /// One line saying what this profile is for; shown by `stockade profiles` and `plan`.
    pub description: Option<String>,
    /// Profiles this one builds on, merged in order before this file. Paths are relative to
    /// this file; `builtin:NAME` names a profile embedded in stockade (see `stockade profiles`).
    pub extends: Option<Vec<String>>,
    /// Keys whose inherited values (from `extends`) are cleared before this file's own
    /// values merge in, by key path: `["mount", "landlock.write", "resources.memory"]`.
    /// A list, a table or a single value; this file's own values then apply as written
    /// (systemd's empty assignment). Consumed by loading, like `extends`.
    pub reset: Option<Vec<String>>,
    /// Single inherited list items to remove, by key path: `[remove] landlock.write =
    /// ["${PWD}"]`, `env.keep = ["SSH_AUTH_SOCK"]`, and mounts by target as written,
    /// `mount = ["${PWD}"]`. Applied after `reset`, only to what `extends` brought in; an
    /// item that matches nothing inherited is an error. Consumed by loading.
    pub remove: Option<remove::Remove>,
    /// The payload process: command, working directory, identity, lifecycle.
    pub process: Option<process::Process>,
    /// The payload's environment.
    pub env: Option<env::Env>,
    /// Which namespaces the sandbox gets, and the user namespace's id maps.
    pub namespaces: Option<namespaces::Namespaces>,
    /// Network access.
    pub network: Option<namespaces::Network>,
    /// The root filesystem, hostname, masked and read-only paths.
    pub filesystem: Option<filesystem::Filesystem>,
    /// Mounts, applied in order (later mounts shadow earlier ones).
    pub mount: Option<Vec<mount::Mount>>,
    /// cgroup limits: memory, CPU, pids, IO, cpuset.
    pub resources: Option<cgroup::Resources>,
    /// Resource limits (setrlimit) of the payload.
    pub rlimits: Option<rlimit::Rlimits>,
    /// The seccomp system-call filter.
    pub seccomp: Option<seccomp::Seccomp>,
    /// Landlock filesystem, network and scope restrictions.
    pub landlock: Option<landlock::Landlock>,
    /// Capabilities kept by the payload, and no_new_privs.
    pub capabilities: Option<caps::Capabilities>,
    /// Integration with a systemd service manager.
    pub systemd: Option<systemd::Systemd>,
    /// Phases: the profile runs as one fresh sandbox per phase, in order (see `Phase`).
    pub phase: Option<Vec<phase::Phase>>,
    /// Accepted findings of `stockade audit` (ignored by the sandbox itself).
    pub audit: Option<audit::Audit>,
}
