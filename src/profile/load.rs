//! Loading a profile: read the file, validate it on its own (so type errors point into the
//! right file), follow `extends` (depth-first, cycle-checked), apply the file's `reset` and
//! `[remove]` to what it inherited ([`compose`](super::compose)), merge the layers with
//! [`merge`](super::merge), and deserialize the merged tree into a typed [`Profile`].

use super::builtin;
use super::compose::{self, Change};
use super::hints::{key_hint, value_offset};
use super::merge::merge_recording;
use super::node::{Node, Origins};
use super::Profile;
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};
use serde::Deserialize;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How deep `extends` chains may go.
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// A loaded and merged profile with everything needed to explain it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The name the user gave (a path or `builtin:NAME`).
    pub name: String,
    pub profile: Profile,
    /// Every file read, for diagnostics.
    pub sources: Sources,
    /// The merged tree, each value with its origin.
    pub tree: Arc<Node>,
    /// Key path → origin of every merged value.
    pub origins: Origins,
    /// The files in merge order (bases first, this profile last).
    pub layers: Vec<String>,
    /// Inherited values taken away by `reset`, `[remove]` or a replacing mount, in the
    /// order loading met them.
    pub changes: Vec<Change>,
    /// Warnings found while loading (a `reset` of a key nothing inherited), located.
    pub warnings: Diagnostics,
}

impl Loaded {
    /// The origin of a key, or of its closest parent that has one.
    pub fn origin_of(&self, key: &str) -> Option<&Span> {
        let mut k = key;
        loop {
            if let Some(s) = self.origins.get(k) {
                return Some(s);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }

    /// Fill in spans of diagnostics that only name a key. A diagnostic about a `key = value`
    /// entry points at the value (`memory = "lots"` → `"lots"`); one about a table, at its
    /// header; one about a key nobody wrote, at its closest written parent.
    pub fn locate(&self, diags: &mut Diagnostics) {
        for d in &mut diags.0 {
            if d.span.is_none() {
                if let Some(key) = &d.key {
                    d.span = match self.origins.get(key) {
                        Some(span) if !key.ends_with(']') && !d.on_key => {
                            Some(self.value_span(span))
                        }
                        _ => self.origin_of(key).cloned(),
                    };
                }
            }
        }
    }

    /// The value part of a `key = value` span (the span itself when it is not one).
    fn value_span(&self, span: &Span) -> Span {
        let Some(text) = self
            .sources
            .get(span.file)
            .and_then(|f| f.text.get(span.range.clone()))
        else {
            return span.clone();
        };
        match value_offset(text) {
            Some(offset) => Span {
                file: span.file,
                range: span.range.start + offset..span.range.end,
            },
            None => span.clone(),
        }
    }
}

/// Loading failed; `sources` lets the caller render the diagnostics.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub diagnostics: Diagnostics,
    pub sources: Sources,
}

/// Load a profile from a path or `builtin:NAME`.
pub fn load(name: &str) -> Result<Loaded, LoadError> {
    finish(Loader::default(), name)
}

/// Load a profile whose top layer is `text` (named `name` in diagnostics) rather than a
/// file: for profiles read from stdin and for tests. Relative `extends` entries are resolved
/// against the current directory.
pub fn load_text(name: &str, text: &str) -> Result<Loaded, LoadError> {
    let loader = Loader {
        inline: Some((name.to_owned(), text.to_owned())),
        ..Loader::default()
    };
    finish(loader, name)
}

/// One file read: its tree (with `${PROFILE_DIR}` substituted), its typed reading, and
/// whether the substitution changed the tree (then the typed reading is stale).
struct Parsed {
    node: Node,
    typed: Profile,
    substituted: bool,
}

fn finish(mut loader: Loader, name: &str) -> Result<Loaded, LoadError> {
    let mut stack = Vec::new();
    let tree = loader.layer(name, None, &mut stack);
    let Some(tree) = tree.filter(|_| !loader.diags.has_errors()) else {
        return Err(loader.fail());
    };
    let merged = match loader.whole.take() {
        Some(profile) => {
            // Compared as JSON, where a NaN (`cpus = nan`) equals itself.
            debug_assert_eq!(
                Profile::deserialize(tree.to_value())
                    .ok()
                    .and_then(|p| serde_json::to_string(&p).ok()),
                serde_json::to_string(&profile).ok(),
                "a single layer reads the same from its text as from its tree"
            );
            Ok(profile)
        }
        None => Profile::deserialize(tree.to_value()),
    };
    let profile = match merged {
        Ok(p) => p,
        Err(e) => {
            // Each layer was valid alone; a merged result can still mix types (a list
            // in one layer, a table in another).
            loader.diags.push(Diagnostic::error(
                "",
                format!("merged profile is invalid: {}", e.message()),
            ));
            return Err(loader.fail());
        }
    };
    let tree = Arc::new(tree);
    let origins = Origins::new(Arc::clone(&tree));
    Ok(Loaded {
        name: name.to_owned(),
        profile,
        sources: loader.sources,
        tree,
        origins,
        layers: loader.layers,
        changes: loader.changes,
        warnings: loader.diags,
    })
}

/// A layer's text and where it came from.
struct Source {
    /// The name shown in diagnostics (as the user wrote it).
    display: String,
    text: String,
    /// The directory relative `extends` entries are resolved against.
    dir: Option<PathBuf>,
    /// What tells two layers apart for cycle and diamond detection.
    identity: String,
    /// What `${PROFILE_DIR}` stands for: the canonical directory of the file, if any.
    profile_dir: Option<String>,
}

#[derive(Default)]
struct Loader {
    sources: Sources,
    diags: Diagnostics,
    layers: Vec<String>,
    /// Identities of the files merged so far: a file reached twice (a diamond such as
    /// `extends = ["builtin:strict", "builtin:minimal"]`) is merged once, at its first
    /// position, so its mounts are not repeated and it cannot undo a later layer.
    merged: Vec<String>,
    /// The top layer's (name, text) when it does not come from a file.
    inline: Option<(String, String)>,
    /// The typed top layer, when it is the whole profile: it extends nothing and has no
    /// `${PROFILE_DIR}` to substitute, so its merged tree holds exactly what its text does
    /// and need not be deserialized a second time.
    whole: Option<Profile>,
    /// What `reset`, `[remove]` and replacing mounts took away.
    changes: Vec<Change>,
}

impl Loader {
    fn fail(self) -> LoadError {
        LoadError {
            diagnostics: self.diags,
            sources: self.sources,
        }
    }

    /// Load one layer and everything it extends; `referrer` is the `extends` entry naming it.
    fn layer(
        &mut self,
        name: &str,
        referrer: Option<&Span>,
        stack: &mut Vec<(String, String)>,
    ) -> Option<Node> {
        let Source {
            display,
            text,
            dir,
            identity,
            profile_dir,
        } = self.read(name, referrer)?;
        if stack.iter().any(|(id, _)| *id == identity) {
            // Shown by the names the user wrote (relative paths), not the canonical ones.
            let chain = stack
                .iter()
                .map(|(_, shown)| shown.as_str())
                .chain(std::iter::once(display.as_str()))
                .collect::<Vec<_>>()
                .join(" -> ");
            self.report(
                referrer,
                format!("`extends` cycle: {chain}"),
                Some("remove one of the `extends` entries in the cycle"),
            );
            return None;
        }
        if self.merged.contains(&identity) {
            return None;
        }
        if stack.len() >= MAX_EXTENDS_DEPTH {
            self.report(
                referrer,
                format!("`extends` chain deeper than {MAX_EXTENDS_DEPTH} files at `{display}`"),
                Some("flatten the chain of base profiles"),
            );
            return None;
        }
        // Parsed before it joins `sources` (which then owns it), under the id it gets there.
        let file = self.sources.files.len();
        let parsed = self.parse(file, &text, profile_dir.as_deref());
        self.sources.add(display.clone(), text);
        let Parsed {
            node,
            typed,
            substituted,
        } = parsed?;
        let Node::Table {
            mut entries,
            origin,
        } = node
        else {
            return None;
        };
        let extends = entries.remove("extends");
        let (reset, remove) = compose::take(&mut entries);
        self.duplicate_mounts(entries.get("mount"));
        // The typed reading of the text stands for the whole profile only when nothing is
        // merged into it, nothing taken out of it, and `${PROFILE_DIR}` substitution
        // changed nothing in the tree.
        if stack.is_empty()
            && extends.is_none()
            && reset.is_none()
            && remove.is_none()
            && !substituted
        {
            self.whole = Some(typed);
        }
        stack.push((identity, display));
        let mut merged: Option<Node> = None;
        if let Some(Node::Array { items, .. }) = extends {
            for item in items {
                let Node::Scalar {
                    value: toml::Value::String(target),
                    origin,
                } = &item
                else {
                    continue;
                };
                let resolved = resolve_extends(target, dir.as_deref());
                if let Some(layer) = self.layer(&resolved, Some(origin), stack) {
                    match merged.as_mut() {
                        Some(m) => merge_recording(m, layer, "", &mut self.changes),
                        None => merged = Some(layer),
                    }
                }
            }
        }
        // Taken away from what the bases gave, before this file's own values merge in.
        compose::apply(
            merged.as_mut(),
            reset.as_ref(),
            remove.as_ref(),
            &mut self.diags,
            &mut self.changes,
        );
        let (identity, _) = stack.pop()?;
        self.merged.push(identity);
        // Post-order: a file's bases were merged before it.
        if let Some(f) = self.sources.get(file) {
            self.layers.push(f.name.clone());
        }
        let own = Node::Table { entries, origin };
        Some(match merged {
            Some(mut m) => {
                merge_recording(&mut m, own, "", &mut self.changes);
                m
            }
            None => own,
        })
    }

    /// Read a layer's text.
    fn read(&mut self, name: &str, referrer: Option<&Span>) -> Option<Source> {
        if let Some((inline, text)) = self.inline.take() {
            // Named after a file only when the name is one (a test may name its text so).
            let profile_dir = std::fs::canonicalize(&inline)
                .ok()
                .and_then(|p| p.parent().map(|d| d.display().to_string()));
            return Some(Source {
                display: inline.clone(),
                text,
                dir: std::env::current_dir().ok(),
                identity: format!("inline:{inline}"),
                profile_dir,
            });
        }
        if let Some(b) = name.strip_prefix("builtin:") {
            return match builtin::get(b) {
                Some(text) => Some(Source {
                    display: name.to_owned(),
                    text: text.to_owned(),
                    dir: None,
                    identity: name.to_owned(),
                    profile_dir: None,
                }),
                None => {
                    let hint = did_you_mean(b, builtin::names())
                        .map(|m| format!("did you mean `builtin:{m}`?"))
                        .unwrap_or_else(|| {
                            format!(
                                "built-in profiles: {}",
                                builtin::names().collect::<Vec<_>>().join(", ")
                            )
                        });
                    self.report(
                        referrer,
                        format!("no built-in profile `{name}`"),
                        Some(&hint),
                    );
                    None
                }
            };
        }
        let path = Path::new(name);
        match std::fs::read_to_string(path) {
            Ok(text) => {
                // Resolved once: the identity, the directory of relative `extends` and
                // `${PROFILE_DIR}` all come from it.
                let canonical = std::fs::canonicalize(path).ok();
                let profile_dir = canonical
                    .as_deref()
                    .and_then(Path::parent)
                    .map(|d| d.display().to_string());
                let canonical = canonical.unwrap_or_else(|| path.to_path_buf());
                Some(Source {
                    display: name.to_owned(),
                    text,
                    dir: canonical.parent().map(Path::to_path_buf),
                    identity: canonical.display().to_string(),
                    profile_dir,
                })
            }
            Err(e) => {
                let what = if referrer.is_some() {
                    "extended profile"
                } else {
                    "profile"
                };
                let help = if referrer.is_some() {
                    "paths in `extends` are relative to the file that names them; built-in profiles are written `builtin:NAME`"
                } else {
                    "give a profile file, or a built-in profile as `builtin:NAME` (`stockade profiles` lists them)"
                };
                self.report(
                    referrer,
                    format!("cannot read {what} `{name}`: {e}"),
                    Some(help),
                );
                None
            }
        }
    }

    /// Parse and validate one file on its own, and substitute `${PROFILE_DIR}` with
    /// `profile_dir`.
    ///
    /// The text is parsed once: the span tree gives both the provenance tree and, through
    /// toml's deserializer, the typed validation of this layer alone.
    fn parse(&mut self, file: FileId, text: &str, profile_dir: Option<&str>) -> Option<Parsed> {
        let whole = 0..text.len();
        let spans = match toml::de::DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.toml_error(file, &e, text);
                return None;
            }
        };
        let node = Node::from_table(spans.get_ref(), file, whole);
        let version_span = spans
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "version")
            .map(|(_, v)| v.span());
        // Typed validation of this layer alone: unknown keys and wrong types point here.
        // It is reported before a value the plain tree cannot hold, as when the typed and
        // the plain reading were separate parses.
        let typed = match Profile::deserialize(toml::Deserializer::from(spans)) {
            Ok(p) => p,
            Err(e) => {
                self.toml_error(file, &e, text);
                return None;
            }
        };
        let mut node = match node {
            Ok(n) => n,
            Err(e) => {
                self.toml_error(file, &e, text);
                return None;
            }
        };
        let version = match &node {
            Node::Table { entries, .. } => entries.get("version"),
            _ => None,
        };
        match version {
            Some(Node::Scalar {
                value: toml::Value::Integer(1),
                ..
            }) => {}
            Some(_) => {
                self.diags.push(
                    Diagnostic::error("version", "unsupported profile format version")
                        .at(Span {
                            file,
                            range: version_span.unwrap_or(0..0),
                        })
                        .help("this stockade reads `version = 1`"),
                );
                return None;
            }
            None => {
                self.diags.push(
                    Diagnostic::error("version", "missing `version = 1`")
                        .at(Span { file, range: 0..0 })
                        .help("start every profile with `version = 1` so future formats can be told apart"),
                );
                return None;
            }
        }
        // Decided on the parsed strings, not the text: `\u0024{PROFILE_DIR}` is the same value.
        let substituted = substitute_profile_dir(&mut node, profile_dir);
        Some(Parsed {
            node,
            typed,
            substituted,
        })
    }

    fn toml_error(&mut self, file: FileId, e: &toml::de::Error, text: &str) {
        let range = e.span().unwrap_or(0..0);
        let found = text
            .get(range.start.min(text.len())..range.end.min(text.len()))
            .unwrap_or_default();
        let mut message = e.message().trim().to_owned();
        if message == "duplicate key" {
            // The parser says only "duplicate key"; name it, and tell tables from keys.
            let line_start = text[..range.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let is_table = text[line_start..].trim_start().starts_with('[');
            message = if is_table {
                format!("table `[{}]` defined twice", found.trim())
            } else {
                format!("duplicate key `{}`", found.trim())
            };
        }
        let help = key_hint(&message, found);
        let mut d = Diagnostic::error("", message).at(Span { file, range });
        d.help = help;
        self.diags.push(d);
    }

    /// Two mounts of one file at one target (as written): the later would only be stacked
    /// over the earlier, and it is unclear which the author meant.
    fn duplicate_mounts(&mut self, mounts: Option<&Node>) {
        let dups = mounts.map(compose::duplicate_targets).unwrap_or_default();
        for (target, first, second) in dups {
            self.diags.push(
                Diagnostic::error(
                    "mount",
                    format!(
                        "two mounts of this file have the target `{target}`: this one and the one at {}",
                        self.sources.location(&first)
                    ),
                )
                .at(second)
                .help("keep one of them: in one file a second mount at a target is only stacked over the first (a mount in a later file replaces an inherited one at the same target)"),
            );
        }
    }

    fn report(&mut self, at: Option<&Span>, message: String, help: Option<&str>) {
        let mut d = Diagnostic::error("", message);
        d.span = at.cloned();
        d.help = help.map(str::to_owned);
        self.diags.push(d);
    }
}

fn resolve_extends(target: &str, dir: Option<&Path>) -> String {
    if target.starts_with("builtin:") || Path::new(target).is_absolute() {
        return target.to_owned();
    }
    let joined = match dir {
        Some(d) => d.join(target),
        None => return target.to_owned(),
    };
    // Shown to the user: relative to the current directory when beneath it.
    match std::env::current_dir() {
        Ok(cwd) => match joined.strip_prefix(&cwd) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => joined.display().to_string(),
        },
        Err(_) => joined.display().to_string(),
    }
}

/// `${PROFILE_DIR}` is the directory of the file that wrote it, so it is resolved per layer
/// before merging; every other variable is resolved by the compiler.
/// Replace `${PROFILE_DIR}` in every string of `node`; true when anything was replaced.
fn substitute_profile_dir(node: &mut Node, dir: Option<&str>) -> bool {
    match node {
        Node::Scalar {
            value: toml::Value::String(s),
            ..
        } => match dir {
            Some(d) if s.contains("${PROFILE_DIR}") => {
                *s = s.replace("${PROFILE_DIR}", d);
                true
            }
            _ => false,
        },
        Node::Scalar { .. } => false,
        Node::Array { items, .. } => items
            .iter_mut()
            .fold(false, |any, n| substitute_profile_dir(n, dir) | any),
        Node::Table { entries, .. } => entries
            .values_mut()
            .fold(false, |any, n| substitute_profile_dir(n, dir) | any),
    }
}
