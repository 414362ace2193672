//! A profile layer as a tree of values that remember where they were written.
//!
//! Composition (`extends`) merges these trees, so that after merging every effective value
//! still knows its file and span: `stockade explain` prints them and the compiler's errors
//! point at them.

use crate::diag::{FileId, Span};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// A value with its origin.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar {
        value: toml::Value,
        origin: Span,
    },
    Array {
        items: Vec<Node>,
        origin: Span,
    },
    Table {
        entries: BTreeMap<String, Node>,
        origin: Span,
    },
}

impl Node {
    pub fn origin(&self) -> &Span {
        match self {
            Node::Scalar { origin, .. }
            | Node::Array { origin, .. }
            | Node::Table { origin, .. } => origin,
        }
    }

    /// Build from a parsed document's span tree, the one parse of a file: `DeTable` holds
    /// both the values and where they were written.
    ///
    /// Numbers and datetimes are converted by toml's own deserializer, so they read (and
    /// fail: an integer beyond `i64`) exactly as a `toml::Table` parse of the text would.
    pub fn from_table(
        spans: &DeTable<'_>,
        file: FileId,
        whole: Range<usize>,
    ) -> Result<Node, toml::de::Error> {
        let mut entries = BTreeMap::new();
        for (key, value) in spans {
            // The whole `key = value` entry: `explain` shows where the line starts, and
            // `Loaded::locate` narrows compiler errors to the value (or keeps the entry
            // when the key's presence is the mistake).
            let span = key.span().start..value.span().end;
            let node = Node::from_value(value.get_ref(), value.span(), file, span)?;
            entries.insert(key.get_ref().as_ref().to_owned(), node);
        }
        Ok(Node::Table {
            entries,
            origin: Span { file, range: whole },
        })
    }

    /// `value_span` is the value's own span (for error messages), `span` its origin.
    fn from_value(
        value: &DeValue<'_>,
        value_span: Range<usize>,
        file: FileId,
        span: Range<usize>,
    ) -> Result<Node, toml::de::Error> {
        Ok(match value {
            DeValue::Table(t) => Node::from_table(t, file, span)?,
            DeValue::Array(items) => {
                let items = items
                    .iter()
                    .map(|d| Node::from_value(d.get_ref(), d.span(), file, d.span()))
                    .collect::<Result<_, _>>()?;
                Node::Array {
                    items,
                    origin: Span { file, range: span },
                }
            }
            DeValue::String(s) => Node::Scalar {
                value: toml::Value::String(s.as_ref().to_owned()),
                origin: Span { file, range: span },
            },
            DeValue::Boolean(b) => Node::Scalar {
                value: toml::Value::Boolean(*b),
                origin: Span { file, range: span },
            },
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Datetime(_) => {
                let de = ValueDeserializer::from(Spanned::new(value_span, value.clone()));
                Node::Scalar {
                    value: toml::Value::deserialize(de)?,
                    origin: Span { file, range: span },
                }
            }
        })
    }

    /// Back to a plain TOML value (for typed deserialization of the merged result).
    pub fn to_value(&self) -> toml::Value {
        match self {
            Node::Scalar { value, .. } => value.clone(),
            Node::Array { items, .. } => {
                toml::Value::Array(items.iter().map(Node::to_value).collect())
            }
            Node::Table { entries, .. } => toml::Value::Table(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// Every value with its key path (`mount[2].target`), tables and arrays included,
    /// depth first, in key order.
    pub fn walk<'a>(&'a self, path: &str, out: &mut Vec<(String, &'a Node)>) {
        out.push((path.to_owned(), self));
        match self {
            Node::Scalar { .. } => {}
            Node::Array { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    item.walk(&format!("{path}[{i}]"), out);
                }
            }
            Node::Table { entries, .. } => {
                for (k, v) in entries {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    v.walk(&p, out);
                }
            }
        }
    }
}

/// Key path (`mount[2].target`) → origin of every merged value, built from the tree on
/// first use: only diagnostics without a span and `explain` need it, and building it
/// formats every key path of the profile.
#[derive(Debug, Clone)]
pub struct Origins {
    tree: Arc<Node>,
    map: OnceLock<BTreeMap<String, Span>>,
}

impl Origins {
    pub(crate) fn new(tree: Arc<Node>) -> Origins {
        Origins {
            tree,
            map: OnceLock::new(),
        }
    }

    fn map(&self) -> &BTreeMap<String, Span> {
        self.map.get_or_init(|| {
            let mut all = Vec::new();
            self.tree.walk("", &mut all);
            all.into_iter()
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, n)| (k, n.origin().clone()))
                .collect()
        })
    }

    /// The origin of exactly this key.
    pub fn get(&self, key: &str) -> Option<&Span> {
        self.map().get(key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.map().contains_key(key)
    }
}
