//! A profile layer as a tree of values that remember where they were written.
//!
//! Composition (`extends`) merges these trees, so that after merging every effective value
//! still knows its file and span: `stockade explain` prints them and the compiler's errors
//! point at them.

use crate::diag::{FileId, Span};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

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

    /// Build from a parsed document (`values`) and its span tree (`spans`), walked in
    /// parallel: `toml::Table` gives typed values, `DeTable` gives the spans.
    pub fn from_table(
        values: &toml::Table,
        spans: &DeTable<'_>,
        file: FileId,
        whole: Range<usize>,
    ) -> Node {
        let mut entries = BTreeMap::new();
        for (key, value) in values {
            let found = spans
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key.as_str());
            let (span, de) = match found {
                // The whole `key = value` entry: `explain` shows where the line starts, and
                // `Loaded::locate` narrows compiler errors to the value (or keeps the entry
                // when the key's presence is the mistake).
                Some((k, v)) => (k.span().start..v.span().end, Some(v.get_ref())),
                None => (whole.clone(), None),
            };
            entries.insert(key.clone(), Node::from_value(value, de, file, span));
        }
        Node::Table {
            entries,
            origin: Span { file, range: whole },
        }
    }

    fn from_value(
        value: &toml::Value,
        de: Option<&DeValue<'_>>,
        file: FileId,
        span: Range<usize>,
    ) -> Node {
        let origin = Span {
            file,
            range: span.clone(),
        };
        match value {
            toml::Value::Table(t) => match de {
                Some(DeValue::Table(dt)) => Node::from_table(t, dt, file, span),
                _ => Node::from_table(t, &DeTable::default(), file, span),
            },
            toml::Value::Array(items) => {
                let de_items = match de {
                    Some(DeValue::Array(a)) => Some(a),
                    _ => None,
                };
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let d = de_items.and_then(|a| a.get(i));
                        let s = d.map_or(span.clone(), |d| d.span());
                        Node::from_value(v, d.map(|d| d.get_ref()), file, s)
                    })
                    .collect();
                Node::Array { items, origin }
            }
            scalar => Node::Scalar {
                value: scalar.clone(),
                origin,
            },
        }
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
