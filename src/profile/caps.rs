//! `[capabilities]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Capabilities of the payload. Everything not kept is dropped from every set, including
/// the bounding set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capabilities {
    /// Capabilities kept (bounding, permitted, effective), e.g. `["CAP_NET_BIND_SERVICE"]`
    /// or `["net_bind_service"]`. Default: none.
    pub keep: Option<Vec<String>>,
    /// Kept capabilities also raised in the ambient set, so a non-root payload keeps them
    /// across execve. Each must be in `keep`.
    pub ambient: Option<Vec<String>>,
    /// Set no_new_privs: setuid binaries and file capabilities gain nothing. Default: true.
    pub no_new_privs: Option<bool>,
}
