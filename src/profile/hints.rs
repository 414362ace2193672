//! `help:` lines and spans for the TOML parser's and serde's messages, kept apart from the
//! loader: "did you mean" for unknown keys and values, how to write the expected type, and
//! where a `key = value` entry's value starts.

use crate::diag::did_you_mean;

/// Where the value starts in `key = value` (the key bare or quoted); `None` for anything
/// else, such as a `[table]` header.
pub fn value_offset(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = match bytes.first()? {
        q @ (b'"' | b'\'') => {
            // A quoted key (`"MY-VAR" = ...`) may contain `=`: skip to its closing quote.
            let mut j = 1;
            while j < bytes.len() && bytes[j] != *q {
                j += if *q == b'"' && bytes[j] == b'\\' {
                    2
                } else {
                    1
                };
            }
            j + 1
        }
        c if c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-' => bytes
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))?,
        _ => return None,
    };
    while bytes.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
        i += 1;
    }
    if bytes.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while bytes.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
        i += 1;
    }
    (i < bytes.len()).then_some(i)
}

/// A `help:` line for the TOML parser's and serde's messages: "did you mean" for unknown
/// keys and values, and how to write the expected type.
pub fn key_hint(message: &str, found: &str) -> Option<String> {
    if message.starts_with("duplicate key") {
        return Some("each key may be set once per table; remove one of them".into());
    }
    if message.starts_with("table `") {
        return Some("merge the two tables into one".into());
    }
    if message.starts_with("invalid value") {
        for (ty, max) in [("u8", "255"), ("u16", "65535"), ("u32", "4294967295")] {
            if message.ends_with(&format!("expected {ty}")) {
                return Some(format!("write a whole number from 0 to {max}"));
            }
        }
    }
    if let Some(rest) = message.split_once("expected ").map(|(_, r)| r) {
        if message.starts_with("invalid type") {
            return type_hint(rest);
        }
    }
    // `expected one of `a`, `b`` and, for two candidates, `expected `a` or `b``.
    let rest = message.split_once("expected ")?.1;
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    if candidates.is_empty() {
        return None;
    }
    let word = found.trim().trim_matches('"');
    match did_you_mean(word, candidates.iter().copied()) {
        Some(m) => Some(format!("did you mean `{m}`?")),
        None if message.contains("unknown field") => {
            Some(format!("valid keys here: {}", candidates.join(", ")))
        }
        None => Some(format!("write one of: {}", candidates.join(", "))),
    }
}

/// How to write a value of the type serde expected.
fn type_hint(expected: &str) -> Option<String> {
    let hint = if expected.starts_with("a boolean") {
        "write `true` or `false` (without quotes)"
    } else if expected.starts_with("a string") {
        "quote the value, e.g. \"10s\" or \"/usr\""
    } else if expected.starts_with("a sequence") {
        "write a list in brackets, e.g. [\"a\", \"b\"]"
    } else if expected.starts_with("u8")
        || expected.starts_with("u16")
        || expected.starts_with("u32")
        || expected.starts_with("u64")
        || expected.starts_with("i64")
        || expected.starts_with("an integer")
    {
        "write a whole number without quotes"
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        "write a table, e.g. [section] or { key = value }"
    } else {
        return None;
    };
    Some(hint.into())
}

#[cfg(test)]
mod tests {
    use super::value_offset;

    #[test]
    fn finds_the_value_of_a_key_value_span() {
        assert_eq!(value_offset("memory = \"lots\""), Some(9));
        assert_eq!(value_offset("cpu=1"), Some(4));
        assert_eq!(value_offset("\"A=B\" = \"1\""), Some(8));
        assert_eq!(value_offset("'a' =\t2"), Some(6));
        assert_eq!(value_offset("[[mount]]"), None);
        assert_eq!(value_offset("\"/usr\""), None);
        assert_eq!(value_offset("key ="), None);
        assert_eq!(value_offset(""), None);
    }
}
