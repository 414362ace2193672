//! `[[phase]]`: a profile run as a sequence of sandboxes (fetch, then build).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One phase. Each phase gets a fresh sandbox built from the whole profile, with these
/// keys overriding it; `stockade run` runs the phases in order and stops at the first
/// failure, `stockade run --phase NAME` runs one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Phase {
    /// The phase's name (unique within the profile), e.g. `fetch` or `build`.
    pub name: Option<String>,
    /// The phase's command; replaces `process.command` (required).
    pub command: Option<Vec<String>>,
    /// The phase's network; replaces the whole `[network]` table (e.g. `proxy` with an
    /// allow list for a fetch, `none` for the build).
    pub network: Option<super::namespaces::Network>,
    /// Mounts added after the profile's own (so they shadow them), e.g. a cache writable
    /// in the fetch phase and read-only in the build phase.
    pub mount: Option<Vec<super::mount::Mount>>,
    /// cgroup limits; replace the profile's `[resources]` table.
    pub resources: Option<super::cgroup::Resources>,
}
