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
//! - `extends`, `reset` and `[remove]` are consumed by loading and never merged (the
//!   latter two act on the inherited tree first, in [`compose`](super::compose));
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

    fn targets(n: &Node) -> Vec<String> {
        match n.to_value().get("mount") {
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|m| {
                    let field = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("-");
                    format!("{} {} {}", field("type"), field("target"), field("size"))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_mount_at_an_inherited_target_replaces_it_in_place() {
        let mut base = node(
            "[[mount]]\ntype = \"proc\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n\
             [[mount]]\ntype = \"dir\"\ntarget = \"/tmp/inner\"\n",
            0,
        );
        // `/tmp/` is `/tmp` as written; `/var/tmp` is new; the proc mount's default target.
        let over = node(
            "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/var/tmp\"\n\
             [[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp/\"\nsize = \"1MiB\"\n\
             [[mount]]\ntype = \"proc\"\ntarget = \"/proc\"\n",
            1,
        );
        let mut changes = Vec::new();
        merge_recording(&mut base, over, "", &mut changes);
        assert_eq!(
            targets(&base),
            [
                "proc /proc -",
                "tmpfs /tmp/ 1MiB",
                "dir /tmp/inner -",
                "tmpfs /var/tmp -"
            ]
        );
        let what: Vec<(&str, &str, usize, usize)> = changes
            .iter()
            .map(|c| (c.action.word(), c.what.as_str(), c.was.file, c.by.file))
            .collect();
        assert_eq!(
            what,
            [
                ("replaced", "tmpfs \"/tmp\"", 0, 1),
                ("replaced", "proc \"/proc\"", 0, 1)
            ]
        );
    }

    #[test]
    fn a_variable_target_is_compared_as_written_and_a_bind_by_its_source() {
        let mut base = node(
            "[[mount]]\ntype = \"bind\"\nsource = \"${PWD}\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n",
            0,
        );
        let over = node(
            "[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\ntarget = \"${PWD}\"\n\
             [[mount]]\ntype = \"bind\"\nsource = \"/tmp\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"${HOME}\"\n",
            1,
        );
        let mut changes = Vec::new();
        merge_recording(&mut base, over, "", &mut changes);
        // `${PWD}` replaced; the bind of /tmp replaced the tmpfs at /tmp; `${HOME}` is new
        // even if it expands to an inherited target (the compiler warns then).
        assert_eq!(
            targets(&base),
            ["bind ${PWD} -", "bind - -", "tmpfs ${HOME} -"]
        );
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn reset_and_remove_take_only_from_what_was_inherited() {
        use crate::diag::Diagnostics;
        let mut inherited = node(
            "[env]\nkeep = [\"PATH\", \"SSH_AUTH_SOCK\"]\n[resources]\nmemory = \"4GiB\"\npids = 10\n\
             [landlock]\nwrite = [\"${PWD}\", \"/tmp\"]\nconnect-tcp = [443, 80]\n\
             [[mount]]\ntype = \"bind\"\nsource = \"${PWD}\"\n[[mount]]\ntype = \"proc\"\n",
            0,
        );
        let own = node(
            "reset = [\"resources.memory\", \"seccomp\"]\n\
             [remove]\nmount = [\"${PWD}\"]\nenv.keep = [\"SSH_AUTH_SOCK\"]\n\
             landlock = { write = [\"${PWD}\"], connect-tcp = [80] }\n\
             [env]\nkeep = [\"SSH_AUTH_SOCK\"]\n",
            1,
        );
        let Node::Table {
            mut entries,
            origin,
        } = own
        else {
            panic!("a table");
        };
        let (reset, remove) = compose::take(&mut entries);
        let (mut diags, mut changes) = (Diagnostics::default(), Vec::new());
        compose::apply(
            Some(&mut inherited),
            reset.as_ref(),
            remove.as_ref(),
            &mut diags,
            &mut changes,
        );
        merge_recording(
            &mut inherited,
            Node::Table { entries, origin },
            "",
            &mut changes,
        );
        let expected: toml::Table = toml::from_str(
            "[env]\nkeep = [\"PATH\", \"SSH_AUTH_SOCK\"]\n[resources]\npids = 10\n\
             [landlock]\nwrite = [\"/tmp\"]\nconnect-tcp = [443]\n[[mount]]\ntype = \"proc\"\n",
        )
        .expect("test TOML");
        // The file's own `SSH_AUTH_SOCK` is back: `[remove]` never touches the file's own.
        assert_eq!(inherited.to_value(), toml::Value::Table(expected));
        // `seccomp` was inherited from nobody: a warning, not an error.
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(diags.0.len(), 1);
        let summary: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {} {}", c.action.word(), c.key, c.what))
            .collect();
        assert_eq!(
            summary,
            [
                "reset resources.memory \"4GiB\"",
                "removed env.keep \"SSH_AUTH_SOCK\"",
                "removed landlock.connect-tcp 80",
                "removed landlock.write \"${PWD}\"",
                "removed mount bind \"${PWD}\"",
            ]
        );
    }

    #[test]
    fn a_remove_that_matches_nothing_and_an_unknown_reset_key_are_errors() {
        use crate::diag::Diagnostics;
        let mut inherited = node("[landlock]\nwrite = [\"${PWD}\"]\n", 0);
        let own = node(
            "reset = [\"landlok.write\"]\n[remove]\nlandlock.write = [\"$PWD\"]\nmount = [\"/tmp\"]\n",
            1,
        );
        let Node::Table { mut entries, .. } = own else {
            panic!("a table");
        };
        let (reset, remove) = compose::take(&mut entries);
        let mut diags = Diagnostics::default();
        compose::apply(
            Some(&mut inherited),
            reset.as_ref(),
            remove.as_ref(),
            &mut diags,
            &mut Vec::new(),
        );
        let msgs: Vec<(String, Option<String>)> = diags
            .0
            .iter()
            .map(|d| (d.message.clone(), d.help.clone()))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].0.contains("no profile key `landlok.write`"));
        assert_eq!(msgs[0].1.as_deref(), Some("did you mean `landlock.write`?"));
        assert!(msgs[1].0.contains("nothing inherited matches \"$PWD\""));
        assert!(msgs[1]
            .1
            .as_deref()
            .is_some_and(|h| h.contains("did you mean \"${PWD}\"?")));
        assert!(msgs[2]
            .0
            .contains("no inherited mount has the target \"/tmp\""));
        assert!(diags
            .0
            .iter()
            .all(|d| d.span.as_ref().is_some_and(|s| s.file == 1)));
    }

    #[test]
    fn reset_knows_every_key_of_the_schema() {
        let keys = compose::key_paths();
        for k in [
            "mount",
            "landlock.write",
            "seccomp.allow",
            "resources.memory",
            "env.set",
            "rlimits.nofile",
        ] {
            assert!(keys.contains(k), "{k}");
        }
        for k in ["extends", "reset", "remove", "version", "mount.target"] {
            assert!(!keys.contains(k), "{k}");
        }
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
