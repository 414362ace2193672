//! The JSON Schema of the profile format: schema/profile.schema.json is exactly what
//! `stockade schema` prints, every shipped profile validates against it, and every profile
//! file points TOML editors (Taplo) at it with a `#:schema` first line.

mod util;

use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const SCHEMA_FILE: &str = "schema/profile.schema.json";

fn schema() -> Json {
    let text = std::fs::read_to_string(util::repo().join(SCHEMA_FILE)).expect("schema file");
    serde_json::from_str(&text).expect("the schema file is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("the schema is a valid JSON Schema")
}

/// A TOML profile as the JSON value editors validate.
fn toml_as_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).expect("profile readable");
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: not TOML: {e}", util::rel(path)));
    serde_json::to_value(value).expect("TOML converts to JSON")
}

/// Every profile shipped: profiles/ (recursively), the built-ins and the composition fixtures.
fn shipped_profiles() -> Vec<PathBuf> {
    let root = util::repo();
    let mut out = util::files(&root.join("profiles"), ".toml");
    out.extend(util::files(&root.join("src/builtin"), ".toml"));
    out.extend(util::files(&root.join("tests/fixtures/extends"), ".toml"));
    out
}

fn errors(validator: &jsonschema::Validator, instance: &Json) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn checked_in_schema_matches_stockade_schema() {
    let out = util::stockade(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let printed = util::text(&out.stdout);
    let file = std::fs::read_to_string(util::repo().join(SCHEMA_FILE)).expect("schema file");
    assert!(
        printed == file,
        "{SCHEMA_FILE} is out of date; regenerate it with\n\n    cargo run -q -- schema > {SCHEMA_FILE}\n\n{}",
        util::diff(&file, &printed)
    );
    // The library renders the same text the binary prints.
    assert_eq!(format!("{}\n", stockade::schema::render()), printed);
}

#[test]
fn every_shipped_profile_validates() {
    let v = validator();
    let profiles = shipped_profiles();
    assert!(profiles.len() >= 8, "{profiles:?}");
    let mut failures = Vec::new();
    for p in &profiles {
        let errs = errors(&v, &toml_as_json(p));
        if !errs.is_empty() {
            failures.push(format!("{}:\n  {}", util::rel(p), errs.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    // The validation above can fail: the schema knows unknown keys, wrong types and
    // unknown enum values, like the loader.
    let v = validator();
    for case in [
        "unknown-key",
        "unknown-key-nested",
        "unknown-key-in-mount",
        "wrong-type",
        "wrong-type-list",
        "unknown-mount-type",
        "unknown-network-mode",
        "landlock-port-out-of-range",
        "unknown-rlimit",
    ] {
        let path = util::repo().join(format!("tests/fixtures/bad/{case}.toml"));
        assert!(
            !errors(&v, &toml_as_json(&path)).is_empty(),
            "{case} validates against the schema"
        );
    }
}

#[test]
fn every_profile_file_starts_with_a_schema_line() {
    let root = util::repo();
    let mut files = util::files(&root.join("profiles"), ".toml");
    files.extend(util::files(&root.join("src/builtin"), ".toml"));
    assert!(!files.is_empty());
    let schema_file = std::fs::canonicalize(root.join(SCHEMA_FILE)).expect("schema exists");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{} does not start with `#:schema PATH`", util::rel(&f)));
        // The directive is relative to the file; it must reach the checked-in schema.
        let resolved = f
            .parent()
            .map(|d| d.join(target.trim()))
            .unwrap_or_default();
        assert_eq!(
            std::fs::canonicalize(&resolved).ok().as_ref(),
            Some(&schema_file),
            "{}: `{first}` does not point at {SCHEMA_FILE}",
            util::rel(&f)
        );
    }
}

#[test]
fn every_key_has_a_description() {
    // The doc comments become the schema's descriptions, which editors show on hover.
    let s = schema();
    let mut missing = Vec::new();
    let mut check = |owner: &str, props: &serde_json::Map<String, Json>| {
        for (k, v) in props {
            if v.get("description")
                .and_then(Json::as_str)
                .is_none_or(str::is_empty)
            {
                missing.push(format!("{owner}.{k}"));
            }
        }
    };
    if let Some(p) = s.get("properties").and_then(Json::as_object) {
        check("profile", p);
    }
    for (name, def) in s
        .get("$defs")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(p) = def.get("properties").and_then(Json::as_object) {
            check(name, p);
        }
    }
    assert!(
        missing.is_empty(),
        "keys without a description: {missing:?}"
    );
}
