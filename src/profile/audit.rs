//! `[audit]`: settings read by `stockade audit` only (the sandbox ignores them).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Review settings of this profile for `stockade audit`. Nothing here changes what the
/// sandbox enforces.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Audit {
    /// Findings accepted on purpose, each with the reason. A suppressed finding is still
    /// listed (as suppressed) but neither scored nor gated on; one past its `until` date is
    /// not suppressed and raises `STK-AUD-001`.
    pub suppress: Option<Vec<Suppression>>,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Suppression {
    /// The finding id, e.g. `"STK-NET-001"` (see `stockade audit --list`).
    pub id: String,
    /// Why the exposure is accepted (required, not empty): reviewers read it.
    pub reason: String,
    /// Last day the suppression holds, `"YYYY-MM-DD"` (UTC). After it the finding counts
    /// again and `STK-AUD-001` reports the expired suppression.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub until: Option<String>,
}
