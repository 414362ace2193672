//! The payload's environment: secrets passed in.
//!
//! Judged on the profile's rules (`clear`, `keep` globs, `set` names, `unset`), not on the
//! caller's environment at audit time, so the result is the same on every machine: a
//! `keep` glob that would let a well-known secret through is reported whether or not the
//! auditing machine has that variable.

use super::{Raw, Subject};

/// Well-known secret variables, tried against `keep` globs.
const KNOWN_SECRETS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "CARGO_REGISTRY_TOKEN",
    "CI_JOB_TOKEN",
    "DOCKER_AUTH_CONFIG",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GPG_AGENT_INFO",
    "KRB5CCNAME",
    "NPM_TOKEN",
    "NPM_CONFIG__AUTH",
    "PYPI_TOKEN",
    "SSH_AUTH_SOCK",
    "TWINE_PASSWORD",
    "VAULT_TOKEN",
];

/// A name that looks like it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const SUFFIXES: &[&str] = &[
        "_TOKEN",
        "_KEY",
        "_SECRET",
        "_PASSWORD",
        "_PASSWD",
        "_CREDENTIALS",
        "_AUTH",
        "_API_KEY",
    ];
    const PREFIXES: &[&str] = &["AWS_", "AZURE_", "VAULT_"];
    KNOWN_SECRETS.contains(&n.as_str())
        || SUFFIXES.iter().any(|s| n.ends_with(s))
        || PREFIXES.iter().any(|p| n.starts_with(p))
        || n == "PASSWORD"
        || n == "SECRET"
        || n.contains("SECRET_")
}

/// Shell-style glob with `*` and `?` (what `env.keep` accepts).
pub fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || !n.is_empty() && go(p, &n[1..]),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

pub fn check(s: &Subject<'_>, out: &mut Vec<Raw>) {
    let env = s.profile.env.clone().unwrap_or_default();
    let unset = env.unset.unwrap_or_default();
    let removed = |name: &str| unset.iter().any(|u| glob(u, name));
    let inherited = env.clear == Some(false);
    if inherited {
        out.push(Raw::new("STK-ENV-002", "env.clear", "env.clear = false"));
    }
    let moot = inherited.then_some("the whole environment is inherited (STK-ENV-002)");
    for (i, pattern) in env.keep.iter().flatten().enumerate() {
        let mut hits: Vec<&str> = Vec::new();
        if is_secret_name(pattern) && !pattern.contains(['*', '?']) && !removed(pattern) {
            hits.push(pattern);
        }
        hits.extend(
            KNOWN_SECRETS
                .iter()
                .copied()
                .filter(|k| *k != pattern && glob(pattern, k) && !removed(k)),
        );
        if !hits.is_empty() {
            out.push(
                Raw::new(
                    "STK-ENV-001",
                    format!("env.keep[{i}]"),
                    format!("keep {pattern:?} passes {}", hits.join(" ")),
                )
                .moot_if(moot),
            );
        }
    }
    for name in env.set.iter().flat_map(|m| m.keys()) {
        if is_secret_name(name) && !removed(name) {
            out.push(Raw::new(
                "STK-ENV-001",
                format!("env.set.{name}"),
                format!("set {name}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_globs() {
        for n in [
            "GITHUB_TOKEN",
            "AWS_REGION",
            "MY_API_KEY",
            "db_password",
            "SSH_AUTH_SOCK",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["PATH", "HOME", "TERM", "LANG", "KEYBOARD", "CARGO_HOME"] {
            assert!(!is_secret_name(n), "{n}");
        }
        assert!(glob("CARGO_*", "CARGO_REGISTRY_TOKEN"));
        assert!(glob("*", "X"));
        assert!(glob("LC_?", "LC_A"));
        assert!(!glob("LC_*", "LANG"));
    }
}
