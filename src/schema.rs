//! The JSON Schema of the profile format, generated from the wire types' doc comments.
//! `schema/profile.schema.json` is this output, checked in; a test fails when it drifts.

use crate::profile::Profile;

/// The schema as pretty JSON.
pub fn render() -> String {
    let mut schema = schemars::schema_for!(Profile);
    schema.insert(
        "$id".into(),
        "https://stockade.dev/schema/profile.schema.json".into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
