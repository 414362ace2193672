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
        cx.error_on_key(
            key,
            format!("`{name}` is not a valid environment variable name"),
            Some("names are letters, digits and `_`; `*` and `?` are globs in keep/unset".into()),
        );
    }
}

/// Shell-style glob with `*` and `?`, in O(len(pattern) × len(name)) time: a naive
/// recursive matcher is exponential on patterns such as `*a*a*a*a*b`.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and the name position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == b'?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                // Let the last `*` absorb one more character and retry.
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
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
        assert!(!glob("PATHX", "PATH"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*_HOME", "CARGO_HOME"));
        assert!(glob("?*?", "ab"));
        assert!(!glob("?*?", "a"));
        // Would take exponential time with a backtracking matcher.
        let long = "a".repeat(200);
        assert!(!glob("*a*a*a*a*a*a*a*a*a*a*b", &long));
    }
}
