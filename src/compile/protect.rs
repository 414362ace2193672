//! Protected paths inside writable trees: files that git, direnv, editors and the user's
//! shell run on the host later, made read-only and not creatable inside every writable bind.
//!
//! The compiler only names them (host path, path inside the sandbox, placeholder kind):
//! whether each exists is a host fact of run time, resolved by `exec::protect` before the
//! clone, so compilation stays pure.

use super::Ctx;
use crate::plan::{MountOp, MountPlan, ProtectedPath};
use crate::profile::Profile;
use std::path::{Path, PathBuf};

/// Inside every writable bind: (name, is a directory).
pub const PROJECT_PATHS: [(&str, bool); 7] = [
    (".git/hooks", true),
    (".git/config", false),
    (".gitmodules", false),
    (".envrc", false),
    (".vscode", true),
    (".idea", true),
    (".devcontainer", true),
];

/// Relative to the home directory, where a writable bind exposes it.
pub const HOME_PATHS: [(&str, bool); 24] = [
    (".bashrc", false),
    (".bash_profile", false),
    (".bash_login", false),
    (".bash_logout", false),
    (".profile", false),
    (".zshrc", false),
    (".zshenv", false),
    (".zprofile", false),
    (".zlogin", false),
    (".zlogout", false),
    (".config/fish", true),
    (".config/autostart", true),
    (".config/environment.d", true),
    (".config/systemd", true),
    (".config/git", true),
    (".gitconfig", false),
    (".local/bin", true),
    (".cargo/bin", true),
    (".cargo/config.toml", false),
    (".ssh", true),
    (".pam_environment", false),
    (".xprofile", false),
    (".xsessionrc", false),
    (".npmrc", false),
];

/// The name a profile uses to opt out of a home path: `~/.bashrc`.
fn home_name(rel: &str) -> String {
    format!("~/{rel}")
}

/// Every name `filesystem.unprotected` accepts.
pub fn names() -> Vec<String> {
    PROJECT_PATHS
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(HOME_PATHS.iter().map(|(n, _)| home_name(n)))
        .collect()
}

/// `(protected, unprotected)`: the paths to protect and the ones the profile opted out of.
pub fn compile(
    cx: &mut Ctx,
    p: &Profile,
    mounts: &[MountPlan],
) -> (Vec<ProtectedPath>, Vec<ProtectedPath>) {
    let known = names();
    let mut opt_out: Vec<String> = Vec::new();
    let list = p
        .filesystem
        .as_ref()
        .and_then(|f| f.unprotected.clone())
        .unwrap_or_default();
    for (i, name) in list.iter().enumerate() {
        let key = format!("filesystem.unprotected[{i}]");
        if known.contains(name) {
            cx.warn(
                &key,
                format!("`{name}` stays writable inside writable binds (protected path opted out)"),
                None,
            );
            opt_out.push(name.clone());
        } else {
            cx.error(
                &key,
                format!("`{name}` is not a protected path"),
                Some(format!("use one of: {}", known.join(", "))),
            );
        }
    }
    let home = cx.host.home.clone();
    let mut protected: Vec<ProtectedPath> = Vec::new();
    let mut unprotected: Vec<ProtectedPath> = Vec::new();
    for m in mounts {
        let MountOp::Bind { source, .. } = &m.op else {
            continue;
        };
        if m.flags.read_only {
            continue;
        }
        let mut add = |name: String, host: PathBuf, dir: bool| {
            let Ok(rel) = host.strip_prefix(source) else {
                return;
            };
            let entry = ProtectedPath {
                path: m.target.join(rel),
                host: host.clone(),
                rel: rel.to_path_buf(),
                dir,
                name: name.clone(),
            };
            let out = if opt_out.contains(&name) {
                &mut unprotected
            } else {
                &mut protected
            };
            if !out.iter().any(|e| e.path == entry.path) {
                out.push(entry);
            }
        };
        for (rel, dir) in PROJECT_PATHS {
            add(rel.to_string(), source.join(rel), dir);
        }
        // `/` as home (HOME unset) would make every bind "contain" it; that case is a
        // sensitive source anyway.
        if home != Path::new("/") {
            for (rel, dir) in HOME_PATHS {
                let host = home.join(rel);
                if host.starts_with(source) && host != *source {
                    add(home_name(rel), host, dir);
                }
            }
        }
    }
    (protected, unprotected)
}
