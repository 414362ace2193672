//! `[env]` → the payload's final environment (clear, keep, set, unset, in that order).

use super::Ctx;
use crate::profile::Profile;
use std::collections::BTreeMap;

pub fn compile(cx: &mut Ctx, p: &Profile) -> Vec<(String, String)> {
    let e = p.env.clone().unwrap_or_default();
    let mut out: BTreeMap<String, String> = if e.clear.unwrap_or(true) {
        BTreeMap::new()
    } else {
        cx.host.env.clone()
    };
    for (i, pattern) in e.keep.iter().flatten().enumerate() {
        check_name(cx, &format!("env.keep[{i}]"), pattern, true);
        for (k, v) in &cx.host.env {
            if glob(pattern, k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, v) in e.set.iter().flatten() {
        let key = format!("env.set.{k}");
        check_name(cx, &key, k, false);
        if let Some(v) = cx.expand(&key, v) {
            out.insert(k.clone(), v);
        }
    }
    for (i, pattern) in e.unset.iter().flatten().enumerate() {
        check_name(cx, &format!("env.unset[{i}]"), pattern, true);
        out.retain(|k, _| !glob(pattern, k));
    }
    out.into_iter().collect()
}

fn check_name(cx: &mut Ctx, key: &str, name: &str, allow_glob: bool) {
    let ok = !name.is_empty()
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '_' || (allow_glob && (c == '*' || c == '?'))
        })
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        cx.error(
            key,
            format!("`{name}` is not a valid environment variable name"),
            Some("names are letters, digits and `_`; `*` and `?` are globs in keep/unset".into()),
        );
    }
}

/// Shell-style glob with `*` and `?`.
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("CARGO_*", "CARGO_HOME"));
        assert!(glob("LC_*", "LC_"));
        assert!(!glob("CARGO_*", "XCARGO_HOME"));
        assert!(glob("A?C", "ABC"));
        assert!(glob("PATH", "PATH"));
        assert!(!glob("PATH", "PATHX"));
    }
}
