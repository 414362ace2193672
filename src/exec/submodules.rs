//! Protected paths of git submodules: each submodule's git directory lives under the
//! superproject's `.git/modules/<name>/` (names may contain `/`, and submodules of
//! submodules nest as `.git/modules/a/modules/b/`), with its own `hooks/` and `config`
//! that git runs or reads on the host (`git submodule update` runs the submodule's
//! post-checkout hook; `git status` in the superproject runs `git status` in each populated
//! submodule, which honours its `core.fsmonitor`).
//!
//! Which submodules exist is a host fact of launch time, so they are found here, before the
//! clone, next to [`super::protect::resolve`], which then protects each one like the
//! superproject's own entries (walked again without following links, placeholders for what
//! is missing). A submodule the payload creates while it runs is not covered: its
//! superproject's `.gitmodules` is protected, which is what `git submodule` reads to find it.

use crate::plan::ProtectedPath;
use std::path::{Path, PathBuf};

/// Deepest nesting followed below `.git/modules` (name components and nested submodules).
pub const MAX_DEPTH: usize = 12;
/// Most submodule git directories protected in one bind (two entries each).
pub const MAX_SUBMODULES: usize = 1024;

/// Too many submodule git directories, or nested too deep, to protect (the caller refuses
/// to start).
#[derive(Debug)]
pub struct TooMany(pub PathBuf);

/// For a superproject entry (`.git/hooks` or `.git/config` of a writable bind), the same
/// entry of every submodule git directory found under its `.git/modules`.
pub fn entries_for(p: &ProtectedPath) -> Result<Vec<ProtectedPath>, TooMany> {
    let leaf = match p.rel.as_os_str().to_str() {
        Some(".git/hooks") => "hooks",
        Some(".git/config") => "config",
        _ => return Ok(Vec::new()),
    };
    let (Some(host_git), Some(sandbox_git)) = (p.host.parent(), p.path.parent()) else {
        return Ok(Vec::new());
    };
    let mut gitdirs = Vec::new();
    walk(
        &host_git.join("modules"),
        Path::new("modules"),
        0,
        &mut gitdirs,
    )?;
    Ok(gitdirs
        .into_iter()
        .map(|rel| ProtectedPath {
            name: p.name.clone(),
            path: sandbox_git.join(&rel).join(leaf),
            host: host_git.join(&rel).join(leaf),
            rel: p
                .rel
                .parent()
                .unwrap_or(Path::new(""))
                .join(&rel)
                .join(leaf),
            dir: p.dir,
        })
        .collect())
}

/// Collect the git directories below `dir` (relative to `.git`: `modules/a`, ...). Symbolic
/// links are never entered (git does not make them here; `protect::resolve` refuses one on
/// a protected path), nor is anything that is not a directory.
fn walk(dir: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), TooMany> {
    if !is_real_dir(dir) {
        return Ok(());
    }
    // Deeper than any real submodule layout: refuse rather than leave it unprotected.
    if depth > MAX_DEPTH {
        return Err(TooMany(dir.to_path_buf()));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut names: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let here = dir.join(&name);
        let here_rel = rel.join(&name);
        if is_gitdir(&here) {
            if out.len() >= MAX_SUBMODULES {
                return Err(TooMany(here));
            }
            out.push(here_rel.clone());
            walk(
                &here.join("modules"),
                &here_rel.join("modules"),
                depth + 1,
                out,
            )?;
        } else {
            // A name component of a submodule called `libs/foo`.
            walk(&here, &here_rel, depth + 1, out)?;
        }
    }
    Ok(())
}

fn is_real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// A git directory has a `HEAD` (a file, or in old repositories a symlink to the branch).
fn is_gitdir(p: &Path) -> bool {
    std::fs::symlink_metadata(p.join("HEAD")).is_ok_and(|m| !m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_slashed_submodules_are_found_and_links_are_not_followed() {
        let base = std::env::temp_dir().join(format!("stk-submod-{}", std::process::id()));
        let git = base.join(".git");
        for d in [
            "modules/a",
            "modules/libs/b",
            "modules/a/modules/c",
            "modules/notgit/x",
        ] {
            std::fs::create_dir_all(git.join(d)).expect("mkdir");
        }
        for d in ["modules/a", "modules/libs/b", "modules/a/modules/c"] {
            std::fs::write(git.join(d).join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        }
        let outside = base.join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("HEAD"), "x").expect("HEAD");
        std::os::unix::fs::symlink(&outside, git.join("modules/link")).expect("symlink");
        let p = ProtectedPath {
            name: ".git/hooks".into(),
            path: PathBuf::from("/src/.git/hooks"),
            host: git.join("hooks"),
            rel: PathBuf::from(".git/hooks"),
            dir: true,
        };
        let found = entries_for(&p).expect("not too many");
        let _ = std::fs::remove_dir_all(&base);
        let paths: Vec<_> = found.iter().map(|e| e.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "/src/.git/modules/a/hooks",
                "/src/.git/modules/a/modules/c/hooks",
                "/src/.git/modules/libs/b/hooks",
            ]
        );
        assert_eq!(found[0].rel, PathBuf::from(".git/modules/a/hooks"));
        assert_eq!(found[0].host, git.join("modules/a/hooks"));
        assert!(found.iter().all(|e| e.dir && e.name == ".git/hooks"));
    }
}
