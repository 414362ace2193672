//! Shared by tests/learn.rs and tests/learn_fixtures.rs: the learning base, running
//! `stockade learn` and `stockade run` in a project directory, the round trip.
#![allow(dead_code)]

use crate::common::{TempDir, TestCommand};
use std::path::Path;
use std::process::{Command, Output};

/// The learning base: namespaces, the system read-only, the project directory writable,
/// no seccomp and no Landlock (the patch adds both).
pub fn base(network: &str) -> String {
    format!(
        r#"
[process]
cwd = "${{PWD}}"
user = "${{UID}}"
group = "${{GID}}"

[env]
keep = ["PATH"]

[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true

[network]
mode = "{network}"

[filesystem]
root = "tmpfs"

[[mount]]
type = "bind"
source = "/usr"
read-only = true

[[mount]]
type = "symlink"
source = "usr/bin"
target = "/bin"

[[mount]]
type = "symlink"
source = "usr/lib"
target = "/lib"

[[mount]]
type = "symlink"
source = "usr/lib64"
target = "/lib64"

[[mount]]
type = "bind"
source = "/etc"
read-only = true

[[mount]]
type = "proc"

[[mount]]
type = "dev"

[[mount]]
type = "tmpfs"
target = "/tmp"

[[mount]]
type = "bind"
source = "${{PWD}}"
"#
    )
}

pub fn in_dir(mut t: TestCommand, dir: &Path, user: Option<(u32, u32)>) -> Output {
    t.command().current_dir(dir);
    match user {
        Some((u, g)) => t.with_user(u, g).output(),
        None => t.output(),
    }
}

pub fn learn(
    dir: &Path,
    profile: &str,
    out: &str,
    cmd: &[&str],
    user: Option<(u32, u32)>,
) -> Output {
    let mut args = vec!["learn", profile, "-o", out, "--log", "learn.jsonl", "--"];
    args.extend_from_slice(cmd);
    in_dir(TestCommand::new(args), dir, user)
}

pub fn run(dir: &Path, profile: &str, cmd: &[&str], user: Option<(u32, u32)>) -> Output {
    let mut args = vec!["run", profile, "--"];
    args.extend_from_slice(cmd);
    in_dir(TestCommand::new(args), dir, user)
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The whole round trip for one command; `extra` is the same program doing one more
/// thing, which the learnt profile must refuse (`refused` in its output or a failure).
pub fn round_trip(
    dir: &TempDir,
    cmd: &[&str],
    extra: &[&str],
    refused: &str,
    user: Option<(u32, u32)>,
) {
    let d = dir.path();
    let learnt = learn(d, "base.toml", "learnt.toml", cmd, user);
    assert!(learnt.status.success(), "learn: {}", text(&learnt));
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(patch.contains("extends = [\"base.toml\"]"), "{patch}");
    assert!(
        patch.contains("[seccomp]") && patch.contains("[landlock]"),
        "{patch}"
    );
    let log = std::fs::read_to_string(dir.join("learn.jsonl")).expect("log");
    assert!(log.starts_with("{\"event\":\"header\""), "{log}");

    let again = run(d, "learnt.toml", cmd, user);
    assert!(
        again.status.success(),
        "enforced: {}\n{patch}",
        text(&again)
    );
    assert_eq!(
        again.stdout,
        learnt_stdout(d, cmd, user),
        "same output with and without learn"
    );

    let more = run(d, "learnt.toml", extra, user);
    let all = text(&more);
    assert!(
        !more.status.success() || all.contains(refused),
        "extra access allowed: {all}\n{patch}"
    );
    assert!(all.contains(refused), "{all}");

    let relearn = learn(d, "learnt.toml", "again.toml", cmd, user);
    assert!(relearn.status.success(), "relearn: {}", text(&relearn));
    let second = std::fs::read_to_string(dir.join("again.toml")).expect("patch");
    assert!(
        second.contains("Nothing to add"),
        "second patch not empty:\n{second}"
    );
}

/// The command's output under the learning base (what the learnt profile must reproduce).
pub fn learnt_stdout(dir: &Path, cmd: &[&str], user: Option<(u32, u32)>) -> Vec<u8> {
    run(dir, "base.toml", cmd, user).stdout
}

pub fn project(tag: &str, network: &str, user: Option<(u32, u32)>) -> TempDir {
    let dir = TempDir::new(tag);
    dir.profile("base.toml", &base(network));
    std::fs::write(dir.join("data.txt"), "learnt data\n").expect("data");
    if let Some((u, g)) = user {
        dir.chown(u, g);
        for f in ["base.toml", "data.txt"] {
            std::os::unix::fs::chown(dir.join(f), Some(u), Some(g)).expect("chown");
        }
    }
    dir
}

pub fn cc(dir: &TempDir, name: &str, source: &str, flags: &[&str]) {
    let src = dir.join(&format!("{name}.c"));
    std::fs::write(&src, source).expect("source");
    let out = Command::new("cc")
        .args(flags)
        .arg("-o")
        .arg(dir.join(name))
        .arg(&src)
        .output()
        .expect("cc");
    assert!(out.status.success(), "cc: {}", text(&out));
}
