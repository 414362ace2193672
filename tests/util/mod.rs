//! Helpers shared by the pure (no-sandbox) test files: the repository root, the built binary
//! run with a clean environment, and snapshot files that `UPDATE_SNAPSHOTS=1` rewrites.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `stockade ARGS` run from the repository root with a small fixed environment, so that
/// diagnostics do not depend on the caller's variables (NOTIFY_SOCKET, colours, ...).
pub fn stockade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stockade"))
        .args(args)
        .current_dir(repo())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("the stockade binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether snapshots are rewritten instead of compared.
pub fn updating() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// Replace the repository's absolute path with `<repo>`, so snapshots do not depend on
/// where the checkout lives.
pub fn scrub(s: &str) -> String {
    let root = repo();
    let mut out = s.replace(&root.display().to_string(), "<repo>");
    if let Ok(canonical) = std::fs::canonicalize(&root) {
        out = out.replace(&canonical.display().to_string(), "<repo>");
    }
    out
}

/// Compare `actual` with the snapshot file `path` (or write it when updating). Returns a
/// description of the mismatch.
pub fn check_snapshot(path: &Path, actual: &str) -> Result<(), String> {
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let current = std::fs::read_to_string(path).ok();
        if current.as_deref() != Some(actual) {
            std::fs::write(path, actual).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    let shown = path
        .strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string();
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(expected) => Err(format!(
            "{shown} differs (UPDATE_SNAPSHOTS=1 cargo test rewrites it):\n{}",
            diff(&expected, actual)
        )),
        Err(e) => Err(format!(
            "{shown}: {e} (run UPDATE_SNAPSHOTS=1 cargo test to create it); actual output:\n{actual}"
        )),
    }
}

/// A small line diff: the first differing lines with some context.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = first.saturating_sub(2);
    let mut out = String::new();
    for (i, line) in e.iter().enumerate().skip(from).take(8) {
        out.push_str(&format!("  -{:>4} {line}\n", i + 1));
    }
    for (i, line) in a.iter().enumerate().skip(from).take(8) {
        out.push_str(&format!("  +{:>4} {line}\n", i + 1));
    }
    if e.len() != a.len() {
        out.push_str(&format!(
            "  ({} expected lines, {} actual)\n",
            e.len(),
            a.len()
        ));
    }
    out
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A path relative to the repository root, as a string.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}
