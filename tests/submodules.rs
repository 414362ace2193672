//! A checkout's git submodules keep their hooks and config read-only like the
//! superproject's (issue 12): their git directories live under `.git/modules/<name>/`
//! (nested submodules under `.git/modules/a/modules/b/`), and git runs their hooks and
//! reads their `core.fsmonitor` on the host. Each attack is first run without stockade on
//! a copy of the checkout (it works there), then under builtin:strict, as root and as the
//! unprivileged test user; the host's files are checked from outside.

mod common;

use common::{need_root, need_sandbox, need_user, stderr, TempDir, TestCommand};
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn repo_with_a_commit(dir: &Path, file: &str) {
    std::fs::create_dir_all(dir).expect("repo dir");
    std::fs::write(dir.join(file), "x\n").expect("file");
    git(dir, &["init", "-q", "."]);
    git(dir, &["add", file]);
    git(dir, &["commit", "-qm", "init"]);
}

/// `app` with submodule `libs/core` (a name with a slash), which has submodule `inner`.
fn superproject(t: &TempDir) -> PathBuf {
    let inner = t.join("src-inner");
    let core = t.join("src-core");
    let app = t.join("app");
    repo_with_a_commit(&inner, "inner.txt");
    repo_with_a_commit(&core, "core.txt");
    git(
        &core,
        &[
            "submodule",
            "add",
            "-q",
            inner.to_str().expect("utf-8"),
            "inner",
        ],
    );
    git(&core, &["commit", "-qm", "inner"]);
    repo_with_a_commit(&app, "app.txt");
    git(
        &app,
        &[
            "submodule",
            "add",
            "-q",
            core.to_str().expect("utf-8"),
            "libs/core",
        ],
    );
    git(&app, &["commit", "-qm", "core"]);
    git(
        &app,
        &["submodule", "update", "-q", "--init", "--recursive"],
    );
    for d in [
        ".git/modules/libs/core",
        ".git/modules/libs/core/modules/inner",
    ] {
        assert!(app.join(d).join("HEAD").is_file(), "{d} is not a git dir");
    }
    app
}

const GITDIRS: [&str; 2] = [
    ".git/modules/libs/core",
    ".git/modules/libs/core/modules/inner",
];

/// Each attack prints `WROTE NAME` when it succeeded, `ok NAME` when refused.
fn attacks() -> String {
    let mut s = String::from(
        "try() { name=$1; shift; if ( \"$@\" ) 2>/dev/null; then echo \"WROTE $name\"; else echo \"ok $name\"; fi; }\n",
    );
    for (i, d) in GITDIRS.iter().enumerate() {
        s.push_str(&format!(
            "try hook{i} sh -c 'echo evil > {d}/hooks/post-checkout'\n\
             try config{i} sh -c 'printf \"[core]\\n\\tfsmonitor = evil\\n\" >> {d}/config'\n\
             try hooks-dir{i} sh -c 'mv {d}/hooks {d}/hooks.old'\n"
        ));
    }
    // Reading the submodules still works.
    s.push_str("git -C libs/core status --porcelain >/dev/null && echo 'ok status'\n");
    s.push_str("git -C libs/core/inner log --oneline -1 >/dev/null && echo 'ok log'\n");
    s
}

fn names() -> Vec<String> {
    let mut v: Vec<String> = (0..GITDIRS.len())
        .flat_map(|i| {
            [
                format!("hook{i}"),
                format!("config{i}"),
                format!("hooks-dir{i}"),
            ]
        })
        .collect();
    v.extend(["status".into(), "log".into()]);
    v
}

fn protected(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let app = superproject(&t);
    // The attacks work without stockade (on a copy, so the real one stays clean).
    let copy = t.join("copy");
    let ok = Command::new("cp")
        .args(["-a"])
        .arg(&app)
        .arg(&copy)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cp -a");
    let plain = Command::new("sh")
        .args(["-c", &attacks()])
        .current_dir(&copy)
        .output()
        .expect("sh");
    let plain = String::from_utf8_lossy(&plain.stdout).to_string();
    for i in 0..GITDIRS.len() {
        assert!(plain.contains(&format!("WROTE hook{i}")), "{plain}");
        assert!(plain.contains(&format!("WROTE config{i}")), "{plain}");
    }
    if let Some((uid, gid)) = user {
        let ok = Command::new("chown")
            .args(["-R", &format!("{uid}:{gid}")])
            .arg(t.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown");
    }
    let configs: Vec<Vec<u8>> = GITDIRS
        .iter()
        .map(|d| std::fs::read(app.join(d).join("config")).expect("config"))
        .collect();
    let mut cmd = TestCommand::new(["run", "--", "sh", "-c", &attacks()]);
    if let Some((uid, gid)) = user {
        cmd = cmd.with_user(uid, gid);
    }
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let out = cmd.env("HOME", &home).current_dir(&app).output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    for name in names() {
        assert!(
            text.lines().any(|l| l == format!("ok {name}")),
            "`{name}` not refused or not working:\n{text}\n{}",
            stderr(&out)
        );
    }
    for (d, before) in GITDIRS.iter().zip(&configs) {
        let dir = app.join(d);
        assert!(
            !dir.join("hooks/post-checkout").exists(),
            "{d}: hook planted"
        );
        assert!(dir.join("hooks").is_dir(), "{d}: hooks moved");
        assert_eq!(
            &std::fs::read(dir.join("config")).expect("config"),
            before,
            "{d}"
        );
    }
}

#[test]
fn submodule_hooks_and_config_stay_read_only_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    protected(None, "submod-root");
}

#[test]
fn submodule_hooks_and_config_stay_read_only_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    protected(Some(u), "submod-user");
}
