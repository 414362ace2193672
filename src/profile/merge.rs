//! The composition rules of `extends`, defined in one place.
//!
//! Layers are merged in order: each `extends` entry (itself fully merged), then the file
//! that names them. For two layers `base` and `over`:
//! - tables merge key by key;
//! - scalars (strings, numbers, booleans) in `over` replace those in `base`;
//! - lists **accumulate**: `over`'s items are appended to `base`'s, and for lists of
//!   strings an item already present is not repeated. This covers `env.keep`,
//!   `seccomp.deny`, `landlock.read`...
//! - `[[mount]]` accumulates too (base mounts first, so the child's mounts shadow them),
//!   except that a mount whose target *as written* equals a base mount's replaces that mount
//!   in place: it keeps the base's position, so mounts the base put beneath it stay after
//!   it (see [`compose`](super::compose), which also handles `reset` and `[remove]`);
//! - except the lists in [`REPLACED_LISTS`], where `over` replaces `base` as a whole (an
//!   argv or an id map only makes sense complete);
//! - `extends` itself is consumed by loading and never merged;
//! - a file reached more than once through `extends` (a diamond) is merged once, at its
//!   first position in the depth-first order.

use super::compose::{self, Change};
use super::node::Node;

/// Lists that replace instead of accumulating.
pub const REPLACED_LISTS: &[&str] = &[
    "process.command",
    "process.groups",
    "namespaces.uid-map",
    "namespaces.gid-map",
    "seccomp.architectures",
];

/// Merge `over` into `base` (key path `path`).
pub fn merge(base: &mut Node, over: Node, path: &str) {
    merge_recording(base, over, path, &mut Vec::new());
}

/// [`merge`], recording each inherited mount that a mount of `over` replaced.
pub fn merge_recording(base: &mut Node, over: Node, path: &str, changes: &mut Vec<Change>) {
    match (base, over) {
        (
            Node::Table { entries, .. },
            Node::Table {
                entries: over_entries,
                ..
            },
        ) => {
            for (key, value) in over_entries {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match entries.get_mut(&key) {
                    Some(existing) => merge_recording(existing, value, &child, changes),
                    None => {
                        entries.insert(key, value);
                    }
                }
            }
        }
        (
            Node::Array { items, origin },
            Node::Array {
                items: over_items,
                origin: over_origin,
            },
        ) if !REPLACED_LISTS.contains(&path) => {
            let inherited = items.len();
            for item in over_items {
                if path == "mount" {
                    // Only inherited mounts are replaced: two at one target in one file
                    // are an error reported when the file is read.
                    if let Some(i) = compose::replaced_index(&items[..inherited], &item) {
                        changes.push(compose::replaced(&items[i], &item));
                        items[i] = item;
                        continue;
                    }
                }
                let duplicate = matches!(&item, Node::Scalar { value: toml::Value::String(s), .. }
                    if items.iter().any(|i| matches!(i, Node::Scalar { value: toml::Value::String(t), .. } if t == s)));
                if !duplicate {
                    items.push(item);
                }
            }
            // The list as a whole was last touched by the overriding layer.
            *origin = over_origin;
        }
        (slot, over) => *slot = over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn node(text: &str, file: usize) -> Node {
        let spans = toml::de::DeTable::parse(text).expect("test TOML");
        Node::from_table(spans.get_ref(), file, 0..text.len()).expect("test TOML")
    }

    #[test]
    fn tables_merge_scalars_override_lists_accumulate() {
        let mut base = node(
            "[env]\nkeep = [\"PATH\", \"HOME\"]\nclear = true\n[process]\ncommand = [\"a\"]\n[[mount]]\ntype = \"proc\"\n",
            0,
        );
        let over = node(
            "[env]\nkeep = [\"HOME\", \"TERM\"]\nclear = false\n[process]\ncommand = [\"b\", \"c\"]\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n",
            1,
        );
        merge(&mut base, over, "");
        let v = base.to_value();
        let expected: toml::Table = toml::from_str(
            "[env]\nkeep = [\"PATH\", \"HOME\", \"TERM\"]\nclear = false\n[process]\ncommand = [\"b\", \"c\"]\n[[mount]]\ntype = \"proc\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n",
        )
        .expect("test TOML");
        assert_eq!(v, toml::Value::Table(expected));
    }

    #[test]
    fn origins_follow_the_winning_layer() {
        let mut base = node("[env]\nclear = true\nkeep = [\"PATH\"]\n", 0);
        let over = node("[env]\nclear = false\n", 1);
        merge(&mut base, over, "");
        let mut all = Vec::new();
        base.walk("", &mut all);
        let origin = |p: &str| {
            all.iter()
                .find(|(k, _)| k == p)
                .map(|(_, n)| n.origin().clone())
        };
        assert_eq!(origin("env.clear").map(|s: Span| s.file), Some(1));
        assert_eq!(origin("env.keep[0]").map(|s: Span| s.file), Some(0));
    }
}
