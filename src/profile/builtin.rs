//! Profiles embedded in the binary, usable as `builtin:NAME` and listed by
//! `stockade profiles`.

/// (name, TOML text).
const BUILTINS: &[(&str, &str)] = &[
    ("minimal", include_str!("../builtin/minimal.toml")),
    ("strict", include_str!("../builtin/strict.toml")),
];

/// The text of a built-in profile.
pub fn get(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of all built-in profiles.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(n, _)| *n)
}
