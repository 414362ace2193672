//! The embedded default must be safe wherever it is started (issue 12): builtin:strict
//! binds ${PWD} read-write, so started from `/` or `$HOME` it refuses; inside a checkout the
//! files git, direnv and editors run later stay read-only and cannot be created; the run
//! report is never written through a name the payload could have replaced. Every check
//! looks at the host from outside, as root and as the unprivileged test user.

mod common;

use common::{need_root, need_sandbox, need_user, stderr, TempDir, TestCommand};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// `stockade run [PROFILE] -- sh -c SCRIPT` from `dir`, as `user` (root when `None`), with
/// `HOME` set to `home`.
fn sh(
    profile: Option<&Path>,
    dir: &Path,
    home: &Path,
    user: Option<(u32, u32)>,
    extra: &[&str],
    script: &str,
) -> std::process::Output {
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    if let Some(p) = profile {
        args.push(p.display().to_string());
    }
    args.extend(["--".into(), "sh".into(), "-c".into(), script.into()]);
    let mut t = TestCommand::new(args);
    if let Some((uid, gid)) = user {
        t = t.with_user(uid, gid);
    }
    t.env("HOME", home).current_dir(dir).output()
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

fn refuses_from_root_and_home(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let home = t.join("home/me");
    std::fs::create_dir_all(&home).expect("home");
    chown_tree(t.path(), user);
    for (dir, why) in [
        (Path::new("/"), "onto `/`"),
        (home.as_path(), "the home directory"),
        (&t.join("home"), "an ancestor of the home directory"),
        (Path::new("/usr"), "system directory `/usr`"),
        (Path::new("/etc"), "system directory `/etc`"),
    ] {
        let out = sh(None, dir, &home, user, &[], "echo ran > ran");
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(125),
            "from {}: {err}",
            dir.display()
        );
        assert!(err.contains(why), "from {}: {err}", dir.display());
        assert!(err.contains("run stockade from"), "no hint: {err}");
        assert!(
            !dir.join("ran").exists(),
            "the payload ran in {}",
            dir.display()
        );
    }
}

#[test]
fn strict_refuses_to_start_from_root_or_home_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    refuses_from_root_and_home(None, "wd-refuse-root");
}

#[test]
fn strict_refuses_to_start_from_root_or_home_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    refuses_from_root_and_home(Some(u), "wd-refuse-user");
}

/// A git checkout with a tiny C project, returned with its `.git/config` content.
fn checkout(t: &TempDir) -> (std::path::PathBuf, Vec<u8>) {
    let repo = t.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    std::fs::write(repo.join("hello.c"), "int main(void) { return 0; }\n").expect("hello.c");
    std::fs::write(
        repo.join("Makefile"),
        "hello: hello.c\n\tcc -o hello hello.c\n",
    )
    .expect("Makefile");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "."]);
    git(&["add", "hello.c", "Makefile"]);
    git(&["commit", "-qm", "init"]);
    let config = std::fs::read(repo.join(".git/config")).expect(".git/config");
    (repo, config)
}

/// Every write below must fail; each line prints `ok NAME` when the attempt was refused.
const ATTACKS: &str = r#"
try() { name=$1; shift; if ( "$@" ) 2>/dev/null; then echo "WROTE $name"; else echo "ok $name"; fi; }
try config sh -c 'printf "[core]\n\tfsmonitor = evil\n" >> .git/config'
try hook sh -c 'echo evil > .git/hooks/pre-commit'
try hooks-dir sh -c 'mv .git/hooks .git/hooks.old'
try gitmodules sh -c 'echo evil > .gitmodules'
try envrc sh -c 'echo evil > .envrc'
try vscode sh -c 'mkdir -p .vscode/x && echo evil > .vscode/tasks.json'
try idea sh -c 'echo evil > .idea/workspace.xml'
try devcontainer sh -c 'echo evil > .devcontainer/devcontainer.json'
try dotdot sh -c 'echo evil > /../var/tmp/stockade-wd-mark'
try proc-root sh -c 'echo evil > /proc/self/root/../var/tmp/stockade-wd-mark'
[ "$(ls -a /.. | tr '\n' ' ')" = "$(ls -a / | tr '\n' ' ')" ] && echo "ok dotdot-is-root"
[ "$(ls -a /proc/self/root/.. | tr '\n' ' ')" = "$(ls -a / | tr '\n' ' ')" ] && echo "ok procroot-is-root"
make -s && ./hello && echo "ok make"
git status --porcelain >/dev/null && echo "ok git-status"
git diff --quiet && echo "ok git-diff"
"#;

const EXPECTED: [&str; 15] = [
    "config",
    "hook",
    "hooks-dir",
    "gitmodules",
    "envrc",
    "vscode",
    "idea",
    "devcontainer",
    "dotdot",
    "proc-root",
    "dotdot-is-root",
    "procroot-is-root",
    "make",
    "git-status",
    "git-diff",
];

fn checkout_is_protected(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let (repo, config) = checkout(&t);
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    chown_tree(t.path(), user);
    let off = t.profile(
        "off.toml",
        "extends = [\"builtin:strict\"]\n[landlock]\nenabled = false\n",
    );
    let abi1 = t.profile(
        "abi1.toml",
        "extends = [\"builtin:minimal\"]\n[process]\ncwd = \"${PWD}\"\n\
         [[mount]]\ntype = \"bind\"\nsource = \"${PWD}\"\n\
         [landlock]\nabi = 1\ncompat = \"required\"\nread = [\"/\"]\n\
         exec = [\"/usr\", \"${PWD}\"]\n[[landlock.rule]]\n\
         paths = [\"${PWD}\", \"/tmp\", \"/dev\"]\naccess = [\"read-file\", \"read-dir\", \
         \"write-file\", \"remove-dir\", \"remove-file\", \"make-dir\", \"make-reg\", \
         \"make-sym\", \"make-fifo\", \"make-sock\"]\n",
    );
    std::fs::set_permissions(&off, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for (label, profile) in [
        ("landlock on", None),
        ("landlock off", Some(off.as_path())),
        ("landlock abi 1", Some(abi1.as_path())),
    ] {
        let out = sh(profile, &repo, &home, user, &[], ATTACKS);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{label}: {}\n{text}", stderr(&out));
        for name in EXPECTED {
            assert!(
                text.lines().any(|l| l == format!("ok {name}")),
                "{label}: `{name}` not refused or not working:\n{text}\n{}",
                stderr(&out)
            );
        }
        assert!(!text.contains("WROTE"), "{label}:\n{text}");
        // From outside: nothing changed, and the placeholders are gone again.
        assert_eq!(
            std::fs::read(repo.join(".git/config")).expect("config"),
            config
        );
        for p in [
            ".git/hooks/pre-commit",
            ".gitmodules",
            ".envrc",
            ".vscode",
            ".idea",
            ".devcontainer",
        ] {
            assert!(!repo.join(p).exists(), "{label}: {p} left on the host");
        }
        assert!(repo.join(".git/hooks").is_dir(), "{label}: hooks moved");
        assert!(
            !Path::new("/var/tmp/stockade-wd-mark").exists(),
            "{label}: /.. reached the host's /var/tmp"
        );
        assert!(repo.join("hello").exists(), "{label}: make built nothing");
        std::fs::remove_file(repo.join("hello")).expect("rm hello");
    }
}

#[test]
fn a_checkout_keeps_git_and_editor_files_read_only_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    checkout_is_protected(None, "wd-git-root");
}

#[test]
fn a_checkout_keeps_git_and_editor_files_read_only_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    checkout_is_protected(Some(u), "wd-git-user");
}

fn home_is_protected(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(home.join(".bashrc"), "# mine\n").expect(".bashrc");
    chown_tree(t.path(), user);
    let p = t.profile(
        "home.toml",
        "extends = [\"builtin:strict\"]\n[process]\ncwd = \"${HOME}\"\n\
         [[mount]]\ntype = \"bind\"\nsource = \"${HOME}\"\nallow-dangerous-write = true\n",
    );
    let script = r#"
try() { name=$1; shift; if ( "$@" ) 2>/dev/null; then echo "WROTE $name"; else echo "ok $name"; fi; }
try bashrc sh -c 'echo evil >> ~/.bashrc'
try profile sh -c 'echo evil > ~/.profile'
try autostart sh -c 'mkdir -p ~/.config/autostart && echo evil > ~/.config/autostart/x.desktop'
try local-bin sh -c 'mkdir -p ~/.local/bin && echo evil > ~/.local/bin/ls'
try cargo-bin sh -c 'mkdir -p ~/.cargo/bin && echo evil > ~/.cargo/bin/cargo'
try ssh sh -c 'mkdir -p ~/.ssh && echo evil > ~/.ssh/authorized_keys'
echo fine > ~/notes && echo "ok normal-write"
"#;
    // Started from a project below home (builtin:strict's own bind is fine there).
    let project = home.join("project");
    std::fs::create_dir_all(&project).expect("project");
    chown_tree(&project, user);
    let out = sh(Some(&p), &project, &home, user, &[], script);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}\n{text}");
    assert!(
        err.contains("allowed by"),
        "no warning for the opt-in: {err}"
    );
    for name in [
        "bashrc",
        "profile",
        "autostart",
        "local-bin",
        "cargo-bin",
        "ssh",
        "normal-write",
    ] {
        assert!(
            text.lines().any(|l| l == format!("ok {name}")),
            "{name}:\n{text}\n{err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).expect("bashrc"),
        "# mine\n"
    );
    for p in [".profile", ".config", ".local", ".cargo", ".ssh"] {
        assert!(!home.join(p).exists(), "{p} left on the host");
    }
    assert_eq!(
        std::fs::read_to_string(home.join("notes")).expect("notes"),
        "fine\n"
    );
}

#[test]
fn a_writable_home_keeps_start_up_files_read_only_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    home_is_protected(None, "wd-home-root");
}

#[test]
fn a_writable_home_keeps_start_up_files_read_only_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    home_is_protected(Some(u), "wd-home-user");
}

/// The payload plants something at the report's path; the host victim stays untouched and
/// the run's status is the payload's.
fn report_attacks(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let dir = t.join("work");
    std::fs::create_dir_all(&dir).expect("work");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").expect("victim");
    let outside = t.join("outside-victim");
    std::fs::write(&outside, "precious\n").expect("outside victim");
    chown_tree(t.path(), user);
    let home = t.join("home");
    let plants = [
        ("symlink", format!("ln -s {} run.json", outside.display())),
        ("hard link", "ln victim run.json".to_string()),
        ("fifo", "mkfifo run.json".to_string()),
        ("directory", "mkdir run.json".to_string()),
    ];
    // Planted by the payload during the run.
    for (what, plant) in &plants {
        let script = format!("rm -f run.json && {plant} && exit 7");
        let out = sh(None, &dir, &home, user, &["--report", "run.json"], &script);
        assert_eq!(out.status.code(), Some(7), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("report file run.json was replaced during the run"),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious\n",
            "{what}"
        );
        assert_eq!(
            std::fs::read_to_string(&outside).expect("outside"),
            "precious\n",
            "{what}"
        );
        let p = dir.join("run.json");
        if p.is_dir() {
            std::fs::remove_dir(&p).expect("rmdir");
        } else {
            std::fs::remove_file(&p).expect("rm");
        }
    }
    // Planted before the launch: refused before anything runs, naming the path.
    for (what, plant) in &plants {
        let ok = Command::new("sh")
            .args(["-c", plant])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "planting {what}");
        let out = sh(
            None,
            &dir,
            &home,
            user,
            &["--report", "run.json"],
            "echo ran > ran",
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{what}: {err}");
        assert!(err.contains("report file run.json"), "{what}: {err}");
        assert!(!dir.join("ran").exists(), "{what}: the payload ran");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious\n",
            "{what}"
        );
        assert_eq!(
            std::fs::read_to_string(&outside).expect("outside"),
            "precious\n",
            "{what}"
        );
        let p = dir.join("run.json");
        if p.is_dir() {
            std::fs::remove_dir(&p).expect("rmdir");
        } else {
            std::fs::remove_file(&p).expect("rm");
        }
    }
    // And the ordinary case still writes the report.
    let out = sh(None, &dir, &home, user, &["--report", "run.json"], "exit 3");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let report = std::fs::read_to_string(dir.join("run.json")).expect("report");
    assert!(report.contains("\"exit_code\": 3"), "{report}");
    assert!(
        report.contains("protected (read-only, not creatable)"),
        "{report}"
    );
}

#[test]
fn the_report_is_not_written_through_a_planted_name_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    report_attacks(None, "wd-report-root");
}

#[test]
fn the_report_is_not_written_through_a_planted_name_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    report_attacks(Some(u), "wd-report-user");
}
