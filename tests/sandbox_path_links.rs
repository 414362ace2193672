//! Masked, read-only and protected paths are never moved by a symlink inside the sandbox
//! (issue 18): after pivot_root the child opens each with `openat2(RESOLVE_NO_SYMLINKS)`.
//!
//! The link is planted in the shared writable directory before the launch, as another
//! sandbox binding the same directory could; the launch must be refused with an error
//! naming the profile key and the path, and the path the link points to must be left as
//! it was (not masked, not made read-only in its place). A control run without the link
//! shows the same key does take effect.

mod common;

use common::*;
use std::os::unix::fs::symlink;
use std::path::Path;

fn profile(dir: &TempDir, name: &str, shared: &Path, filesystem: &str) -> std::path::PathBuf {
    let body = format!(
        "extends = [\"builtin:minimal\"]\n\n[filesystem]\n{filesystem}\n\n[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/shared\"\n",
        shared.display()
    );
    dir.profile(name, &body)
}

fn run(p: &Path, who: Option<(u32, u32)>, script: &str) -> std::process::Output {
    let t = TestCommand::run(p, &["/bin/sh", "-c", script]);
    match who {
        Some((u, g)) => t.with_user(u, g),
        None => t,
    }
    .output()
}

/// A shared directory with `real/` (a file `f` in it), `other` (a file), and the planted
/// links `dlink -> real` (a directory component) and `flink -> other` (a last component).
fn shared_tree(dir: &TempDir, who: Option<(u32, u32)>) -> std::path::PathBuf {
    let shared = dir.join("shared");
    std::fs::create_dir_all(shared.join("real")).unwrap();
    std::fs::write(shared.join("real/f"), "real\n").unwrap();
    std::fs::write(shared.join("other"), "other\n").unwrap();
    symlink("real", shared.join("dlink")).unwrap();
    symlink("other", shared.join("flink")).unwrap();
    if let Some((u, g)) = who {
        dir.chown(u, g);
        for p in ["shared", "shared/real", "shared/real/f", "shared/other"] {
            std::os::unix::fs::chown(dir.join(p), Some(u), Some(g)).unwrap();
        }
        for p in ["shared/dlink", "shared/flink"] {
            std::os::unix::fs::lchown(dir.join(p), Some(u), Some(g)).unwrap();
        }
    }
    shared
}

fn refused(out: &std::process::Output, key: &str, path: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(125), "must be refused: {err}");
    assert!(
        err.contains(&format!("{key} {path}")) && err.contains("symbolic link"),
        "names the key, the path and the link: {err}"
    );
    assert!(err.contains("ELOOP"), "{err}");
}

fn links_refused_as(who: Option<(u32, u32)>, tag: &str) {
    let dir = TempDir::new(tag);
    let shared = shared_tree(&dir, who);

    // Control: the real paths are made read-only and masked.
    let p = profile(
        &dir,
        "control.toml",
        &shared,
        "read-only-paths = [\"/shared/real\"]\nmasked-paths = [\"/shared/other\"]",
    );
    let out = run(
        &p,
        who,
        "cat /shared/other; echo x > /shared/real/f 2>/dev/null && echo WROTE; echo done",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");

    // A read-only path through a planted directory link.
    let p = profile(
        &dir,
        "ro.toml",
        &shared,
        "read-only-paths = [\"/shared/dlink/f\"]",
    );
    let out = run(&p, who, "echo ran");
    refused(&out, "filesystem.read-only-paths", "/shared/dlink/f");
    assert!(out.stdout.is_empty(), "the payload must not run");

    // A read-only path that is itself a planted link.
    let p = profile(
        &dir,
        "ro2.toml",
        &shared,
        "read-only-paths = [\"/shared/flink\"]",
    );
    refused(
        &run(&p, who, "echo ran"),
        "filesystem.read-only-paths",
        "/shared/flink",
    );

    // A masked path that is a link, and one through a link.
    let p = profile(
        &dir,
        "mask.toml",
        &shared,
        "masked-paths = [\"/shared/flink\"]",
    );
    refused(
        &run(&p, who, "echo ran"),
        "filesystem.masked-paths",
        "/shared/flink",
    );
    let p = profile(
        &dir,
        "mask2.toml",
        &shared,
        "masked-paths = [\"/nonexistent\", \"/shared/dlink/f\"]",
    );
    refused(
        &run(&p, who, "echo ran"),
        "filesystem.masked-paths",
        "/shared/dlink/f",
    );

    // Nothing was written to what the links point to.
    assert_eq!(
        std::fs::read_to_string(shared.join("real/f")).unwrap(),
        "real\n"
    );
    assert_eq!(
        std::fs::read_to_string(shared.join("other")).unwrap(),
        "other\n"
    );
}

#[test]
fn read_only_and_masked_paths_through_a_link_are_refused_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    links_refused_as(None, "sp-links-root");
}

#[test]
fn read_only_and_masked_paths_through_a_link_are_refused_as_user() {
    if need_sandbox() {
        return;
    }
    let Some(user) = need_user() else { return };
    links_refused_as(Some(user), "sp-links-user");
}
