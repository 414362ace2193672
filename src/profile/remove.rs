//! `[remove]`: individual items a profile takes away from what it inherited through
//! `extends`. The table mirrors the profile's key paths (`[remove] landlock.write = [...]`
//! removes from `landlock.write`); only lists of plain items can be named here. Lists of
//! tables (`seccomp.rule`, `landlock.rule`, `phase`) and whole keys are cleared with
//! `reset` instead. Applied by loading (like `extends`), never to this file's own items;
//! an item that matches nothing inherited is an error, so a typo cannot leave a grant in
//! place while the author believes it gone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Inherited list items to remove, by key path.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Remove {
    /// Inherited mounts to remove, each named by its `target` as written, before variables
    /// are expanded (`"${PWD}"`, `"/tmp"`); a mount without `target` is named by its
    /// default target (a bind's `source`, `/proc`, `/dev`, `/dev/pts`, `/dev/mqueue`).
    pub mount: Option<Vec<String>>,
    /// Items of `[env]` lists.
    pub env: Option<RemoveEnv>,
    /// Items of `[network]` lists.
    pub network: Option<RemoveNetwork>,
    /// Items of `[filesystem]` lists.
    pub filesystem: Option<RemoveFilesystem>,
    /// Items of `[seccomp]` lists.
    pub seccomp: Option<RemoveSeccomp>,
    /// Items of `[landlock]` lists.
    pub landlock: Option<RemoveLandlock>,
    /// Items of `[capabilities]` lists.
    pub capabilities: Option<RemoveCapabilities>,
}

/// `[remove.env]`: names or globs, exactly as the base wrote them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveEnv {
    /// Items removed from `env.keep`.
    pub keep: Option<Vec<String>>,
    /// Items removed from `env.unset`.
    pub unset: Option<Vec<String>>,
}

/// `[remove.network]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveNetwork {
    /// Hosts removed from `network.allow`.
    pub allow: Option<Vec<String>>,
}

/// `[remove.filesystem]`: paths as written, before variables are expanded.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveFilesystem {
    /// Paths removed from `filesystem.masked-paths`.
    pub masked_paths: Option<Vec<String>>,
    /// Paths removed from `filesystem.read-only-paths`.
    pub read_only_paths: Option<Vec<String>>,
    /// Names removed from `filesystem.unprotected`.
    pub unprotected: Option<Vec<String>>,
}

/// `[remove.seccomp]`: system calls and `@groups` as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveSeccomp {
    /// Items removed from `seccomp.allow`.
    pub allow: Option<Vec<String>>,
    /// Items removed from `seccomp.deny`.
    pub deny: Option<Vec<String>>,
}

/// `[remove.landlock]`: paths as written, before variables are expanded (`"${PWD}"`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveLandlock {
    /// Paths removed from `landlock.read`.
    pub read: Option<Vec<String>>,
    /// Paths removed from `landlock.write`.
    pub write: Option<Vec<String>>,
    /// Paths removed from `landlock.exec`.
    pub exec: Option<Vec<String>>,
    /// Ports removed from `landlock.bind-tcp`.
    pub bind_tcp: Option<Vec<u16>>,
    /// Ports removed from `landlock.connect-tcp`.
    pub connect_tcp: Option<Vec<u16>>,
    /// Scopes removed from `landlock.scope`.
    pub scope: Option<Vec<String>>,
}

/// `[remove.capabilities]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveCapabilities {
    /// Capabilities removed from `capabilities.keep`, as written.
    pub keep: Option<Vec<String>>,
    /// Capabilities removed from `capabilities.ambient`, as written.
    pub ambient: Option<Vec<String>>,
}
