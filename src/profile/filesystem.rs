//! `[filesystem]`: the root filesystem and path-level protections.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The sandbox's root filesystem.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Filesystem {
    /// `"tmpfs"`: an empty tmpfs populated by `[[mount]]`s (the default), or the path of a
    /// directory holding a root filesystem (bind-mounted as the new root).
    pub root: Option<String>,
    /// Make the root read-only after all mounts are in place. Default: false.
    pub read_only: Option<bool>,
    /// Hostname inside the sandbox (needs `namespaces.uts`).
    pub hostname: Option<String>,
    /// NIS domain name inside the sandbox (needs `namespaces.uts`).
    pub domainname: Option<String>,
    /// Paths made inaccessible inside the sandbox (a directory gets an empty read-only tmpfs,
    /// a file gets /dev/null). Missing paths are ignored.
    pub masked_paths: Option<Vec<String>>,
    /// Paths remounted read-only inside the sandbox. Missing paths are ignored.
    pub read_only_paths: Option<Vec<String>>,
    /// Protected paths this profile leaves writable. Inside every writable bind, stockade
    /// makes `.git/hooks`, `.git/config`, `.gitmodules`, `.envrc`, `.vscode`, `.idea` and
    /// `.devcontainer` read-only and not creatable (code that git, direnv and editors run
    /// on the host later), and, where the home directory is inside a writable bind, the
    /// shell start-up files and autostart/bin directories (`~/.bashrc`, `~/.profile`,
    /// `~/.config/autostart`, `~/.local/bin`, `~/.cargo/bin`, `~/.ssh`, ...). List names
    /// from those (e.g. `[".vscode", "~/.ssh"]`) to opt out of them; `plan`, `explain` and
    /// the run report show each opt-out. Default: none (everything protected).
    pub unprotected: Option<Vec<String>>,
}
