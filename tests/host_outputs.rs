//! Host files written after the payload ran (`learn -o` and `--log`, `run --net-log`) are
//! opened before it starts and never by name afterwards (issue 12): whatever the payload or
//! an earlier sandbox plants at that name — a symlink to a victim, a hard link, a FIFO, a
//! directory — is refused up front or not followed later. The host victim is checked from
//! outside, as root and as the unprivileged test user.

mod common;

use common::{need_root, need_sandbox, need_user, stderr, TempDir, TestCommand};
use std::path::Path;
use std::process::{Command, Output};

fn as_user(t: TestCommand, dir: &Path, user: Option<(u32, u32)>) -> Output {
    let home = dir.parent().unwrap_or(dir).join("home");
    let t = t.current_dir(dir).env("HOME", home);
    match user {
        Some((u, g)) => t.with_user(u, g).output(),
        None => t.output(),
    }
}

fn chown_tree(p: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        let ok = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(p)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown -R {}", p.display());
    }
}

/// Plants that the payload (or a previous run) leaves at `name`, pointing at `victim`.
fn plants(name: &str, victim: &Path) -> [(&'static str, String); 4] {
    [
        ("symlink", format!("ln -s {} {name}", victim.display())),
        ("hard link", format!("ln {} {name}", victim.display())),
        ("fifo", format!("mkfifo {name}")),
        ("directory", format!("mkdir {name}")),
    ]
}

fn clear(p: &Path) {
    if p.is_dir() && !p.is_symlink() {
        std::fs::remove_dir(p).expect("rmdir");
    } else if p.symlink_metadata().is_ok() {
        std::fs::remove_file(p).expect("rm");
    }
}

const PROFILE: &str = "extends = [\"builtin:minimal\"]\n[process]\ncwd = \"${PWD}\"\n\
                       [[mount]]\ntype = \"bind\"\nsource = \"${PWD}\"\n";

fn learn_outputs(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let dir = t.join("work");
    std::fs::create_dir_all(dir.join("home")).expect("work");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let profile = t.profile("learn-base.toml", PROFILE);
    chown_tree(t.path(), user);
    let learn = |script: &str| {
        TestCommand::new([
            "learn".to_string(),
            profile.display().to_string(),
            "-o".into(),
            "out.toml".into(),
            "--log".into(),
            "learn.jsonl".into(),
            "--".into(),
            "sh".into(),
            "-c".into(),
            script.into(),
        ])
    };
    for name in ["out.toml", "learn.jsonl"] {
        // Planted by the payload while it runs: not followed, the status is the payload's.
        for (what, plant) in plants(name, &victim) {
            let script = format!("rm -f {name} && {plant} && exit 7");
            let out = as_user(learn(&script), &dir, user);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(7), "{name} {what}: {err}");
            assert!(
                err.contains(&format!("{name} was replaced during the run")),
                "{name} {what}: {err}"
            );
            assert_eq!(
                std::fs::read_to_string(&victim).expect("victim"),
                "precious\n",
                "{name} {what}"
            );
            clear(&dir.join(name));
        }
        // Planted before: refused before anything runs, naming the path.
        for (what, plant) in plants(name, &victim) {
            let ok = Command::new("sh")
                .args(["-c", &plant])
                .current_dir(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "planting {what}");
            let out = as_user(learn("echo ran > ran"), &dir, user);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(125), "{name} {what}: {err}");
            assert!(err.contains(&format!(" {name}: ")), "{name} {what}: {err}");
            assert!(!dir.join("ran").exists(), "{name} {what}: the payload ran");
            assert_eq!(
                std::fs::read_to_string(&victim).expect("victim"),
                "precious\n",
                "{name} {what}"
            );
            clear(&dir.join(name));
            clear(&dir.join(if name == "out.toml" {
                "learn.jsonl"
            } else {
                "out.toml"
            }));
        }
    }
    // The ordinary case still writes both.
    let out = as_user(learn("true"), &dir, user);
    assert!(out.status.success(), "{}", stderr(&out));
    let patch = std::fs::read_to_string(dir.join("out.toml")).expect("patch");
    assert!(patch.contains("extends"), "{patch}");
    let log = std::fs::read_to_string(dir.join("learn.jsonl")).expect("log");
    assert!(log.contains("stockade-learn"), "{log}");
}

#[test]
fn learn_outputs_are_not_written_through_a_planted_name_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    learn_outputs(None, "ho-learn-root");
}

#[test]
fn learn_outputs_are_not_written_through_a_planted_name_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    learn_outputs(Some(u), "ho-learn-user");
}

fn net_log(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let dir = t.join("work");
    std::fs::create_dir_all(dir.join("home")).expect("work");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let profile = t.profile(
        "proxy.toml",
        "extends = [\"builtin:strict\"]\n[network]\nmode = \"proxy\"\nallow = [\"registry.test:443\"]\n",
    );
    chown_tree(t.path(), user);
    let run = |script: &str| {
        TestCommand::new([
            "run".to_string(),
            profile.display().to_string(),
            "--net-log".into(),
            "net.jsonl".into(),
            "--".into(),
            "sh".into(),
            "-c".into(),
            script.into(),
        ])
        .env("STOCKADE_TEST_NET_LOOPBACK", "1")
    };
    for (what, plant) in plants("net.jsonl", &victim) {
        let ok = Command::new("sh")
            .args(["-c", &plant])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "planting {what}");
        let out = as_user(run("echo ran > ran"), &dir, user);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{what}: {err}");
        assert!(err.contains("--net-log net.jsonl: "), "{what}: {err}");
        assert!(!dir.join("ran").exists(), "{what}: the payload ran");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious\n",
            "{what}"
        );
        clear(&dir.join("net.jsonl"));
    }
    let out = as_user(run("exit 4"), &dir, user);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(dir.join("net.jsonl").is_file());
}

#[test]
fn the_net_log_is_not_opened_through_a_planted_name_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    net_log(None, "ho-net-root");
}

#[test]
fn the_net_log_is_not_opened_through_a_planted_name_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    net_log(Some(u), "ho-net-user");
}
