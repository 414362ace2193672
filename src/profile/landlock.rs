//! `[landlock]`: unprivileged access control (filesystem, TCP ports, scopes).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens when the kernel cannot enforce everything asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Compat {
    /// Refuse to run (the default).
    Required,
    /// Run, and list what was not enforced in the run report and on stderr.
    BestEffort,
}

/// A Landlock ruleset. Paths are inside the sandbox and are opened after pivot_root.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Landlock {
    /// Turn Landlock off (e.g. in a profile extending `builtin:strict`). Default: true when
    /// any layer has a `[landlock]` table.
    pub enabled: Option<bool>,
    /// `required` (default) or `best-effort`.
    pub compat: Option<Compat>,
    /// Landlock ABI version to request (1..7). Default: the highest ABI whose features
    /// this profile uses.
    pub abi: Option<u8>,
    /// Paths readable (files and directory listings), recursively.
    pub read: Option<Vec<String>>,
    /// Paths readable and writable (create, remove, truncate, ...), recursively.
    pub write: Option<Vec<String>>,
    /// Paths whose files may be executed (also readable).
    pub exec: Option<Vec<String>>,
    /// Fine-grained rules: explicit access rights for some paths.
    pub rule: Option<Vec<LandlockRule>>,
    /// TCP ports the payload may bind (ABI 4). Present, even empty: binding is restricted.
    pub bind_tcp: Option<Vec<u16>>,
    /// TCP ports the payload may connect to (ABI 4). Present, even empty: connecting is
    /// restricted.
    pub connect_tcp: Option<Vec<u16>>,
    /// IPC scopes (ABI 6): `abstract-unix-socket`, `signal`.
    pub scope: Option<Vec<String>>,
    /// Features enforced as `required` even when `compat = "best-effort"`: `bind-tcp`,
    /// `connect-tcp`, a scope (`abstract-unix-socket`, `signal`) or an access right
    /// (`truncate`, `refer`, `ioctl-dev`, ...). Where the kernel's Landlock ABI lacks one,
    /// `check` and `run` fail at this entry, naming the ABI and Linux version it needs: the
    /// property a profile is named for must hold or the profile must not run.
    pub required: Option<Vec<String>>,
}

/// Explicit Landlock access rights for some paths.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LandlockRule {
    /// Paths inside the sandbox.
    pub paths: Vec<String>,
    /// Rights: execute, write-file, read-file, read-dir, remove-dir, remove-file, make-char,
    /// make-dir, make-reg, make-sock, make-fifo, make-block, make-sym, refer, truncate,
    /// ioctl-dev.
    pub access: Vec<String>,
}
