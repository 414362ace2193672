//! Taking inherited things away: `reset`, `[remove]`, and a mount that replaces the
//! inherited mount at its target.
//!
//! [`merge`](super::merge) only adds: without these a profile built on `builtin:strict`
//! could not drop its `${PWD}` bind, and a second tmpfs at `/tmp` (to give it a size) was
//! stacked over the first. All three apply to what a file inherited through `extends`,
//! never to the file's own values, and each leaves a [`Change`] for `stockade explain`.
//!
//! - `reset = ["landlock.write", "mount", "resources.memory"]` clears each named key
//!   (systemd's empty assignment) before this file's values merge in. An unknown key is
//!   an error; a key nothing inherited is a warning (harmless, but probably a mistake).
//! - `[remove]` names single list items (`[remove] landlock.write = ["${PWD}"]`), mounts by
//!   their target as written (`[remove] mount = ["${PWD}"]`). An item that matches nothing
//!   inherited is an error, so a typo never leaves a grant in place unnoticed.
//! - A `[[mount]]` whose target, as written, equals an inherited mount's replaces that
//!   mount where it stands (mounts the base put beneath it stay after it). Two mounts with
//!   the same written target in one file are an error. Targets that only coincide after
//!   variables are expanded (`${PWD}` = `/tmp`) are the compiler's business: it warns.

use super::node::Node;
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// What happened to an inherited value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Reset,
    Removed,
    Replaced,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Reset => "reset",
            Action::Removed => "removed",
            Action::Replaced => "replaced",
        }
    }
}

/// One inherited value that is not in effect because a later file took it away.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: Action,
    /// The key it was under (`mount`, `landlock.write`, `resources.memory`).
    pub key: String,
    /// The value as written (`"${PWD}"`; a mount as `bind "${PWD}"`).
    pub what: String,
    /// For a mount: its target as written (a bind's source when it has no target).
    pub mount_target: Option<String>,
    /// Where the inherited value was written.
    pub was: Span,
    /// The `reset` or `[remove]` entry, or the replacing mount, that took it away.
    pub by: Span,
}

/// Keys that loading consumes or that cannot be reset.
const NOT_RESETTABLE: &[&str] = &["version", "extends", "reset", "remove"];

/// Every key path a profile can write (`mount`, `landlock`, `landlock.write`), from the
/// schema, so the list cannot fall behind the wire types.
pub fn key_paths() -> &'static BTreeSet<String> {
    static PATHS: OnceLock<BTreeSet<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let schema =
            serde_json::to_value(schemars::schema_for!(super::Profile)).unwrap_or_default();
        let mut out = BTreeSet::new();
        collect_paths(&schema, &schema, "", &mut out, 0);
        for k in NOT_RESETTABLE {
            out.remove(*k);
        }
        out
    })
}

fn collect_paths(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let resolve = |s: &serde_json::Value| -> Option<serde_json::Value> {
        let r = s.get("$ref")?.as_str()?;
        let name = r.rsplit('/').next()?;
        root.get("$defs")?.get(name).cloned()
    };
    // `Option<T>` is written `anyOf: [{$ref}, {type: null}]` or a bare `$ref`.
    let mut candidates = vec![schema.clone()];
    if let Some(any) = schema.get("anyOf").and_then(|a| a.as_array()) {
        candidates.extend(any.iter().cloned());
    }
    for c in candidates {
        let c = resolve(&c).unwrap_or(c);
        let Some(props) = c.get("properties").and_then(|p| p.as_object()) else {
            continue;
        };
        for (k, v) in props {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            collect_paths(root, v, &path, out, depth + 1);
        }
    }
}

/// Take `reset` and `remove` out of a layer's own entries (loading consumes them).
pub fn take(
    entries: &mut std::collections::BTreeMap<String, Node>,
) -> (Option<Node>, Option<Node>) {
    (entries.remove("reset"), entries.remove("remove"))
}

/// A mount's target as written: `target`, else the default its type implies. Lexically
/// tidied (`/tmp/` = `/tmp`) but not expanded: `${PWD}` stays `${PWD}`.
pub fn written_target(mount: &Node) -> Option<(String, Span)> {
    let Node::Table { entries, origin } = mount else {
        return None;
    };
    let text = |key: &str| match entries.get(key) {
        Some(Node::Scalar {
            value: toml::Value::String(s),
            origin,
        }) => Some((s.clone(), origin.clone())),
        _ => None,
    };
    let kind = text("type").map(|(k, _)| k).unwrap_or_default();
    let (target, span) = match text("target") {
        Some(t) => t,
        None => match kind.as_str() {
            "bind" => text("source")?,
            "proc" => ("/proc".into(), origin.clone()),
            "dev" => ("/dev".into(), origin.clone()),
            "devpts" => ("/dev/pts".into(), origin.clone()),
            "mqueue" => ("/dev/mqueue".into(), origin.clone()),
            _ => return None,
        },
    };
    Some((tidy(&target), span))
}

/// `//a/./b/` → `/a/b`: only what cannot change the meaning of a path.
fn tidy(p: &str) -> String {
    let absolute = p.starts_with('/');
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => p.to_owned(),
        (false, false) => joined,
    }
}

/// How a mount is shown: `bind "${PWD}"`.
pub fn describe_mount(mount: &Node) -> String {
    let kind = match mount {
        Node::Table { entries, .. } => match entries.get("type") {
            Some(Node::Scalar {
                value: toml::Value::String(k),
                ..
            }) => k.clone(),
            _ => "mount".into(),
        },
        _ => "mount".into(),
    };
    match written_target(mount) {
        Some((t, _)) => format!("{kind} {t:?}"),
        None => kind,
    }
}

fn show(n: &Node) -> String {
    match n.to_value() {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Same-target mounts in one file: (target, the first one's span, the second one's).
pub fn duplicate_targets(own_mounts: &Node) -> Vec<(String, Span, Span)> {
    let Node::Array { items, .. } = own_mounts else {
        return Vec::new();
    };
    let mut seen: Vec<(String, Span)> = Vec::new();
    let mut out = Vec::new();
    for m in items {
        let Some((t, span)) = written_target(m) else {
            continue;
        };
        match seen.iter().find(|(s, _)| *s == t) {
            Some((_, first)) => out.push((t, first.clone(), span)),
            None => seen.push((t, span)),
        }
    }
    out
}

/// The inherited mount a new one replaces: same written target.
pub fn replaced_index(inherited: &[Node], mount: &Node) -> Option<usize> {
    let (t, _) = written_target(mount)?;
    inherited
        .iter()
        .position(|m| written_target(m).is_some_and(|(u, _)| u == t))
}

/// The record of a mount replaced by `by`.
pub fn replaced(old: &Node, by: &Node) -> Change {
    let was = written_target(old).map_or_else(|| old.origin().clone(), |(_, s)| s);
    Change {
        action: Action::Replaced,
        key: "mount".into(),
        what: describe_mount(old),
        mount_target: written_target(old).map(|(t, _)| t),
        was,
        by: written_target(by).map_or_else(|| by.origin().clone(), |(_, s)| s),
    }
}

/// Apply a layer's `reset` and then its `[remove]` to what it inherited.
pub fn apply(
    inherited: Option<&mut Node>,
    reset: Option<&Node>,
    remove: Option<&Node>,
    diags: &mut Diagnostics,
    changes: &mut Vec<Change>,
) {
    let mut inherited = inherited;
    if let Some(Node::Array { items, .. }) = reset {
        for item in items {
            let Node::Scalar {
                value: toml::Value::String(key),
                origin,
            } = item
            else {
                continue;
            };
            if !key_paths().contains(key.as_str()) {
                let hint = did_you_mean(key, key_paths().iter().map(String::as_str))
                    .map(|m| format!("did you mean `{m}`?"))
                    .unwrap_or_else(|| {
                        "name a profile key by its path, e.g. `mount`, `landlock.write`, \
                         `seccomp.allow` or `resources.memory`"
                            .into()
                    });
                diags.push(
                    Diagnostic::error("reset", format!("`reset`: no profile key `{key}`"))
                        .at(origin.clone())
                        .help(hint),
                );
                continue;
            }
            match inherited.as_deref_mut().and_then(|t| take_key(t, key)) {
                Some(old) => record_all(key, &old, origin, Action::Reset, changes),
                None => diags.push(
                    Diagnostic::warning(
                        "reset",
                        format!("`reset`: nothing inherited sets `{key}`, so there is nothing to reset"),
                    )
                    .at(origin.clone())
                    .help("reset applies only to values from `extends`; remove the entry (or check the key's spelling)"),
                ),
            }
        }
    }
    if let Some(remove) = remove {
        let mut lists = Vec::new();
        leaf_lists(remove, "", &mut lists);
        for (key, items) in lists {
            for item in items {
                remove_item(inherited.as_deref_mut(), &key, item, diags, changes);
            }
        }
    }
}

/// The lists in a `[remove]` table with their key paths.
fn leaf_lists<'a>(n: &'a Node, path: &str, out: &mut Vec<(String, &'a [Node])>) {
    match n {
        Node::Array { items, .. } => out.push((path.to_owned(), items)),
        Node::Table { entries, .. } => {
            for (k, v) in entries {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaf_lists(v, &p, out);
            }
        }
        Node::Scalar { .. } => {}
    }
}

fn remove_item(
    inherited: Option<&mut Node>,
    key: &str,
    item: &Node,
    diags: &mut Diagnostics,
    changes: &mut Vec<Change>,
) {
    let Node::Scalar { value, origin } = item else {
        return;
    };
    let wanted = match value {
        toml::Value::String(s) if key == "mount" => toml::Value::String(tidy(s)),
        v => v.clone(),
    };
    let list = inherited.and_then(|t| get_mut(t, key));
    let mut left = Vec::new();
    let mut found = false;
    if let Some(Node::Array { items, .. }) = list {
        let mut kept = Vec::new();
        for n in std::mem::take(items) {
            let hit = if key == "mount" {
                written_target(&n).is_some_and(|(t, _)| toml::Value::String(t) == wanted)
            } else {
                matches!(&n, Node::Scalar { value, .. } if *value == wanted)
            };
            if hit {
                found = true;
                changes.push(change_for(key, &n, origin, Action::Removed));
            } else {
                left.push(if key == "mount" {
                    written_target(&n).map_or_else(|| describe_mount(&n), |(t, _)| format!("{t:?}"))
                } else {
                    show(&n)
                });
                kept.push(n);
            }
        }
        *items = kept;
    }
    if !found {
        let shown = show(item);
        let help = if left.is_empty() {
            format!("nothing inherited is in `{key}`: remove this entry")
        } else {
            let written: Vec<&str> = left.iter().map(String::as_str).collect();
            let near = did_you_mean(&shown, written.iter().copied());
            match near {
                Some(m) => format!("did you mean {m}? (items are matched as written, before variables are expanded)"),
                None if key == "mount" => {
                    format!("the inherited mounts' targets: {}", written.join(", "))
                }
                None => format!("inherited in `{key}`: {}", written.join(", ")),
            }
        };
        let what = if key == "mount" {
            "no inherited mount has the target"
        } else {
            "nothing inherited matches"
        };
        diags.push(
            Diagnostic::error(
                format!("remove.{key}"),
                format!("`[remove] {key}`: {what} {shown}"),
            )
            .at(origin.clone())
            .help(help),
        );
    }
}

fn change_for(key: &str, old: &Node, by: &Span, action: Action) -> Change {
    let mount = key == "mount";
    Change {
        action,
        key: key.to_owned(),
        what: if mount {
            describe_mount(old)
        } else {
            show(old)
        },
        mount_target: if mount {
            written_target(old).map(|(t, _)| t)
        } else {
            None
        },
        was: if mount {
            written_target(old).map_or_else(|| old.origin().clone(), |(_, s)| s)
        } else {
            old.origin().clone()
        },
        by: by.clone(),
    }
}

/// One change per value taken away by a reset: per list item, per table leaf.
fn record_all(key: &str, old: &Node, by: &Span, action: Action, changes: &mut Vec<Change>) {
    match old {
        Node::Array { items, .. } if !items.is_empty() && !key.contains('[') => {
            for i in items {
                if matches!(i, Node::Table { .. }) && key != "mount" {
                    changes.push(Change {
                        what: format!("{{ {} }}", summarize(i)),
                        ..change_for(key, i, by, action)
                    });
                } else {
                    changes.push(change_for(key, i, by, action));
                }
            }
        }
        Node::Table { entries, .. } if !entries.is_empty() => {
            for (k, v) in entries {
                record_all(&format!("{key}.{k}"), v, by, action, changes);
            }
        }
        _ => changes.push(change_for(key, old, by, action)),
    }
}

/// A table item in one line (`syscalls = ["x"], action = "allow"`).
fn summarize(n: &Node) -> String {
    match n {
        Node::Table { entries, .. } => entries
            .iter()
            .map(|(k, v)| format!("{k} = {}", show(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => show(other),
    }
}

fn get_mut<'a>(tree: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    let mut node = tree;
    for part in key.split('.') {
        let Node::Table { entries, .. } = node else {
            return None;
        };
        node = entries.get_mut(part)?;
    }
    Some(node)
}

/// Remove the value at a dotted key path, returning it.
fn take_key(tree: &mut Node, key: &str) -> Option<Node> {
    let (parent, last) = match key.rsplit_once('.') {
        Some((p, l)) => (get_mut(tree, p)?, l),
        None => (tree, key),
    };
    let Node::Table { entries, .. } = parent else {
        return None;
    };
    entries.remove(last)
}
