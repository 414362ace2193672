//! `[env]`: the payload's environment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Environment rules, applied in order: clear, keep, set, unset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Env {
    /// Start from an empty environment instead of the caller's. Default: true.
    pub clear: Option<bool>,
    /// Variables copied from the caller's environment: names or globs such as `CARGO_*`.
    pub keep: Option<Vec<String>>,
    /// Variables set to a value (variables such as `${HOME}` are expanded).
    pub set: Option<BTreeMap<String, String>>,
    /// Variables removed after `keep` and `set` (names or globs).
    pub unset: Option<Vec<String>>,
}
