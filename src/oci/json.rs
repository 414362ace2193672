//! Canonical JSON output, so that the same Plan always gives the same bytes.
//!
//! `oci-spec` keeps annotations, timeOffsets and `unified` in `HashMap`s and capability sets
//! in `HashSet`s, whose iteration order changes from run to run. We serialize to a
//! `serde_json::Value` and rebuild it with every object's keys sorted and every capability
//! set sorted: neither order carries meaning. Arrays whose order does carry meaning (mounts,
//! args, env, id maps, seccomp rules) are left alone.

use serde_json::{Map, Value};

/// The JSON keys whose arrays are sets (`process.capabilities.*`).
const SET_KEYS: &[&str] = &[
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Pretty-print `value` canonically, with a trailing newline.
pub(super) fn to_canonical_string(value: Value) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(&canonical(value, false))?;
    s.push('\n');
    Ok(s)
}

fn canonical(value: Value, is_set: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            // Rebuilding in sorted order gives sorted output whether or not serde_json's
            // `preserve_order` feature is enabled by some other crate in the build.
            let mut out = Map::new();
            for (k, v) in entries {
                let set = SET_KEYS.contains(&k.as_str());
                out.insert(k, canonical(v, set));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(|v| canonical(v, false)).collect();
            if is_set {
                items.sort_by_key(|v| v.to_string());
            }
            Value::Array(items)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_capability_sets_are_sorted_other_arrays_kept() {
        let v = json!({"b": 1, "a": {"effective": ["CAP_B", "CAP_A"], "args": ["z", "y"]}});
        let s = to_canonical_string(v).unwrap();
        assert!(s.find("\"a\"").unwrap() < s.find("\"b\"").unwrap());
        assert!(s.find("CAP_A").unwrap() < s.find("CAP_B").unwrap());
        assert!(s.find("\"z\"").unwrap() < s.find("\"y\"").unwrap());
    }
}
