//! Issue 12's matrix: a sandbox started from `/`, from `$HOME` and from a git checkout, with
//! Landlock on, off and pinned to ABI 1, as root and as the unprivileged test user. Every
//! write the payload attempts at a file the host runs later fails (checked on the host from
//! outside), `/..` and `/proc/self/root/..` are the sandbox's own root, and ordinary build
//! work (`make`, `git status`, an offline `cargo build`) still succeeds. Also: a profile's
//! opt-out of a protected path is visible in `check`, `plan`, `explain` and the run report.

mod common;

use common::{need_root, need_sandbox, need_user, stderr, TempDir, TestCommand};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug)]
enum Landlock {
    On,
    Off,
    Abi1,
}

const MODES: [Landlock; 3] = [Landlock::On, Landlock::Off, Landlock::Abi1];

/// The `[landlock]` table: `writable` gets every write right; `exec` may also run programs.
fn landlock(mode: Landlock, writable: &[&str], exec: &[&str]) -> String {
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut exec_all = vec!["/usr"];
    exec_all.extend_from_slice(exec);
    match mode {
        Landlock::Off => "[landlock]\nenabled = false\n".into(),
        Landlock::On => format!(
            "[landlock]\ncompat = \"required\"\nread = [\"/\"]\nwrite = [{}]\nexec = [{}]\n",
            list(writable),
            list(&exec_all)
        ),
        Landlock::Abi1 => format!(
            "[landlock]\nabi = 1\ncompat = \"required\"\nread = [\"/\"]\nexec = [{}]\n\
             [[landlock.rule]]\npaths = [{}]\naccess = [\"read-file\", \"read-dir\", \
             \"write-file\", \"remove-dir\", \"remove-file\", \"make-dir\", \"make-reg\", \
             \"make-sym\", \"make-fifo\", \"make-sock\"]\n",
            list(&exec_all),
            list(writable)
        ),
    }
}

/// builtin:strict's shape (a writable `${PWD}` bind) with the given Landlock mode.
fn pwd_profile(t: &TempDir, mode: Landlock, dangerous: bool, extra: &str) -> PathBuf {
    let name = format!("pwd-{mode:?}-{dangerous}.toml");
    t.profile(
        &name,
        &format!(
            "extends = [\"builtin:minimal\"]\n[process]\ncwd = \"${{PWD}}\"\n\
             [[mount]]\ntype = \"bind\"\nsource = \"${{PWD}}\"\nnosuid = true\nnodev = true\n\
             allow-dangerous-write = {dangerous}\n{extra}{}",
            landlock(mode, &["${PWD}", "/tmp", "/dev"], &["${PWD}"])
        ),
    )
}

fn run_sh(
    profile: &Path,
    dir: &Path,
    home: &Path,
    user: Option<(u32, u32)>,
    script: &str,
) -> std::process::Output {
    let mut t = TestCommand::new([
        "run".to_string(),
        profile.display().to_string(),
        "--".into(),
        "sh".into(),
        "-c".into(),
        script.into(),
    ]);
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

/// A per-test marker under the host's /var/tmp: `/..` must never reach it.
fn marker(tag: &str) -> PathBuf {
    let m = PathBuf::from(format!("/var/tmp/stockade-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_file(&m);
    m
}

const TRY: &str = "try() { name=$1; shift; if ( \"$@\" ) 2>/dev/null; then echo \"WROTE $name\"; \
                   else echo \"ok $name\"; fi; }\n";

/// `/..` and `/proc/self/root/..` are the sandbox's root; writing through them fails.
fn escape_script(mark: &Path) -> String {
    let m = mark.display();
    format!(
        "{TRY}try dotdot sh -c 'echo evil > /../{rel}'\n\
         try proc-root sh -c 'echo evil > /proc/self/root/../{rel}'\n\
         try dotdot-touch touch /../../{rel}\n\
         [ \"$(ls -a /.. | tr '\\n' ' ')\" = \"$(ls -a / | tr '\\n' ' ')\" ] && echo 'ok dotdot-is-root'\n\
         [ \"$(ls -a /proc/self/root/.. | tr '\\n' ' ')\" = \"$(ls -a / | tr '\\n' ' ')\" ] && echo 'ok procroot-is-root'\n\
         [ \"$(cd /.. && pwd -P)\" = / ] && echo 'ok cd-dotdot'\n\
         [ ! -e /../{rel} ] && echo 'ok no-marker'\n",
        rel = m.to_string().trim_start_matches('/'),
    )
}

const ESCAPES: [&str; 7] = [
    "dotdot",
    "proc-root",
    "dotdot-touch",
    "dotdot-is-root",
    "procroot-is-root",
    "cd-dotdot",
    "no-marker",
];

fn expect_ok(label: &str, out: &std::process::Output, names: &[&str]) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{label}: {}\n{text}", stderr(out));
    for name in names {
        assert!(
            text.lines().any(|l| l == format!("ok {name}")),
            "{label}: `{name}` not refused or not working:\n{text}\n{}",
            stderr(out)
        );
    }
    assert!(!text.contains("WROTE"), "{label}:\n{text}");
}

/// Started from `/`: a `${PWD}` bind is refused in every Landlock mode, even with
/// `allow-dangerous-write` (nothing is stacked on the root); a profile that does not bind
/// `${PWD}` runs there and cannot leave its root.
fn from_root(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    chown_tree(t.path(), user);
    let mark = marker(tag);
    for mode in MODES {
        for dangerous in [false, true] {
            let p = pwd_profile(&t, mode, dangerous, "");
            let out = run_sh(
                &p,
                Path::new("/"),
                &home,
                user,
                "echo ran > /tmp/ran; exit 0",
            );
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(125), "{mode:?}/{dangerous}: {err}");
            assert!(err.contains("onto `/`"), "{mode:?}/{dangerous}: {err}");
        }
        let p = t.profile(
            &format!("root-{mode:?}.toml"),
            &format!(
                "extends = [\"builtin:minimal\"]\n{}",
                landlock(mode, &["/tmp", "/dev"], &[])
            ),
        );
        let out = run_sh(&p, Path::new("/"), &home, user, &escape_script(&mark));
        expect_ok(&format!("from / {mode:?}"), &out, &ESCAPES);
        assert!(!mark.exists(), "{mode:?}: /.. reached the host's /var/tmp");
    }
}

#[test]
fn started_from_root_nothing_leaves_the_sandbox_root_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    from_root(None, "wdm-root-r");
}

#[test]
fn started_from_root_nothing_leaves_the_sandbox_root_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    from_root(Some(u), "wdm-root-u");
}

/// Started from `$HOME`: refused unless the profile says `allow-dangerous-write`; with it,
/// the start-up files and bin directories stay read-only and cannot be created.
fn from_home(user: Option<(u32, u32)>, tag: &str) {
    let t = TempDir::new(tag);
    let home = t.join("home");
    std::fs::create_dir_all(home.join(".config")).expect("home");
    std::fs::write(home.join(".bashrc"), "# mine\n").expect(".bashrc");
    chown_tree(t.path(), user);
    let mark = marker(tag);
    let script = format!(
        "{}try bashrc sh -c 'echo evil >> ~/.bashrc'\n\
         try bashrc-replace sh -c 'mv ~/.bashrc ~/.b && echo evil > ~/.bashrc'\n\
         try profile sh -c 'echo evil > ~/.profile'\n\
         try zshrc sh -c 'echo evil > ~/.zshrc'\n\
         try autostart sh -c 'mkdir -p ~/.config/autostart && echo x > ~/.config/autostart/x.desktop'\n\
         try local-bin sh -c 'mkdir -p ~/.local/bin && echo x > ~/.local/bin/ls'\n\
         try cargo-bin sh -c 'mkdir -p ~/.cargo/bin && echo x > ~/.cargo/bin/cargo'\n\
         try ssh sh -c 'mkdir -p ~/.ssh && echo x > ~/.ssh/authorized_keys'\n\
         try gitconfig sh -c 'echo x > ~/.gitconfig'\n\
         echo fine > ~/notes && echo 'ok normal-write'\n",
        escape_script(&mark)
    );
    let mut names: Vec<&str> = ESCAPES.to_vec();
    names.extend([
        "bashrc",
        "bashrc-replace",
        "profile",
        "zshrc",
        "autostart",
        "local-bin",
        "cargo-bin",
        "ssh",
        "gitconfig",
        "normal-write",
    ]);
    for mode in MODES {
        let refused = pwd_profile(&t, mode, false, "");
        let out = run_sh(&refused, &home, &home, user, "echo ran > ran");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{mode:?}: {err}");
        assert!(err.contains("the home directory"), "{mode:?}: {err}");
        assert!(!home.join("ran").exists(), "{mode:?}: the payload ran");

        let p = pwd_profile(&t, mode, true, "");
        let out = run_sh(&p, &home, &home, user, &script);
        expect_ok(&format!("from $HOME {mode:?}"), &out, &names);
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).expect("bashrc"),
            "# mine\n",
            "{mode:?}"
        );
        for f in [
            ".b",
            ".profile",
            ".zshrc",
            ".config/autostart",
            ".local",
            ".cargo",
            ".ssh",
            ".gitconfig",
        ] {
            assert!(!home.join(f).exists(), "{mode:?}: {f} left on the host");
        }
        assert_eq!(
            std::fs::read_to_string(home.join("notes")).expect("notes"),
            "fine\n"
        );
        std::fs::remove_file(home.join("notes")).expect("rm notes");
        assert!(!mark.exists(), "{mode:?}: /.. reached the host's /var/tmp");
    }
}

#[test]
fn started_from_home_start_up_files_stay_read_only_as_root() {
    if need_sandbox() || need_root() {
        return;
    }
    from_home(None, "wdm-home-r");
}

#[test]
fn started_from_home_start_up_files_stay_read_only_rootless() {
    if need_sandbox() {
        return;
    }
    let Some(u) = need_user() else { return };
    from_home(Some(u), "wdm-home-u");
}

/// The toolchain directory of the `rustc` the tests were built with (`.../bin/rustc`'s
/// grandparent), bound read-only into the sandbox.
fn toolchain() -> PathBuf {
    let out = Command::new("rustup")
        .args(["which", "rustc"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let rustc = match out {
        Some(o) => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        None => PathBuf::from("/usr/bin/rustc"),
    };
    let real = std::fs::canonicalize(&rustc).expect("rustc");
    real.ancestors()
        .nth(2)
        .expect("toolchain dir")
        .to_path_buf()
}

/// In a git checkout: an offline `cargo build` of a crate with no dependencies, `make` and
/// `git status` work, with Landlock on, off and at ABI 1; `.git` stays protected. As root
/// only: the toolchain lives under /root, which the test user cannot reach.
#[test]
fn a_cargo_build_in_a_checkout_works_in_every_landlock_mode() {
    if need_sandbox() || need_root() {
        return;
    }
    let t = TempDir::new("wdm-cargo");
    let repo = t.join("repo");
    std::fs::create_dir_all(repo.join("src")).expect("src");
    std::fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("Cargo.toml");
    std::fs::write(
        repo.join("src/main.rs"),
        "fn main() { println!(\"fixture ran\"); }\n",
    )
    .expect("main.rs");
    std::fs::write(repo.join("Makefile"), "all:\n\techo made > made.txt\n").expect("Makefile");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(&repo)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "."]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    let config = std::fs::read(repo.join(".git/config")).expect("config");
    let tc = toolchain();
    let mount = format!(
        "[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/opt/rust\"\nread-only = true\n",
        tc.display()
    );
    let script = format!(
        "{TRY}export PATH=/opt/rust/bin:$PATH CARGO_HOME=/tmp/cargo-home\n\
         cargo build --offline -q && ./target/debug/fixture | grep -qx 'fixture ran' && echo 'ok cargo'\n\
         make -s >/dev/null && [ -f made.txt ] && echo 'ok make'\n\
         git status --porcelain | grep -q made.txt && echo 'ok git-status'\n\
         try config sh -c 'echo x >> .git/config'\n\
         try hook sh -c 'echo x > .git/hooks/post-checkout'\n"
    );
    for mode in MODES {
        let p = t.profile(
            &format!("cargo-{mode:?}.toml"),
            &format!(
                "extends = [\"builtin:minimal\"]\n[process]\ncwd = \"${{PWD}}\"\n\
                 [[mount]]\ntype = \"bind\"\nsource = \"${{PWD}}\"\nnosuid = true\nnodev = true\n\
                 {mount}{}",
                landlock(mode, &["${PWD}", "/tmp", "/dev"], &["${PWD}", "/opt/rust"])
            ),
        );
        let out = run_sh(&p, &repo, &t.join("home"), None, &script);
        expect_ok(
            &format!("checkout {mode:?}"),
            &out,
            &["cargo", "make", "git-status", "config", "hook"],
        );
        assert!(repo.join("target/debug/fixture").exists(), "{mode:?}");
        assert_eq!(std::fs::read(repo.join(".git/config")).expect("c"), config);
        assert!(!repo.join(".git/hooks/post-checkout").exists(), "{mode:?}");
        std::fs::remove_dir_all(repo.join("target")).expect("rm target");
        std::fs::remove_file(repo.join("made.txt")).expect("rm made");
    }
}

/// `filesystem.unprotected` is a located warning at `check`, listed by `plan` and
/// `explain`, reported in the run report, and really leaves that one path writable while
/// the others stay protected.
#[test]
fn an_opt_out_is_visible_everywhere_and_only_that_path_is_writable() {
    if need_sandbox() || need_root() {
        return;
    }
    let t = TempDir::new("wdm-optout");
    let repo = t.join("repo");
    std::fs::create_dir_all(repo.join(".git/hooks")).expect("repo");
    let p = t.profile(
        "optout.toml",
        "extends = [\"builtin:strict\"]\n[filesystem]\nunprotected = [\".vscode\"]\n",
    );
    let cli = |args: &[&str]| {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.insert(1, p.display().to_string());
        TestCommand::new(v)
            .env("HOME", t.join("home"))
            .current_dir(&repo)
            .output()
    };
    let check = cli(&["check"]);
    let err = stderr(&check);
    assert!(check.status.success(), "{err}");
    assert!(
        err.contains(&format!("{}:4:16", p.display())) && err.contains("`.vscode` stays writable"),
        "check: {err}"
    );
    let plan = cli(&["plan"]);
    let text = String::from_utf8_lossy(&plan.stdout);
    let vscode = format!("{}/.vscode (.vscode)", repo.display());
    let after = text
        .split("NOT protected (filesystem.unprotected opt-out: writable)")
        .nth(1)
        .unwrap_or_else(|| panic!("plan shows no opt-out:\n{text}"));
    assert!(
        after.lines().nth(1).is_some_and(|l| l.trim() == vscode),
        "{text}"
    );
    let before = text.split("NOT protected").next().unwrap_or("");
    assert!(
        before.contains(&format!("{}/.idea", repo.display())),
        "{text}"
    );
    let explain = cli(&["explain"]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("filesystem.unprotected[0] = \".vscode\"")
                && l.contains(&format!("{}:4:16", p.display()))),
        "explain:\n{text}"
    );
    let report = t.join("run.json");
    let out = TestCommand::new([
        "run".to_string(),
        "--report".into(),
        report.display().to_string(),
        p.display().to_string(),
        "--".into(),
        "sh".into(),
        "-c".into(),
        "mkdir .vscode && echo t > .vscode/tasks.json && echo ok-vscode; \
         mkdir .idea 2>/dev/null || echo ok-idea"
            .into(),
    ])
    .env("HOME", t.join("home"))
    .current_dir(&repo)
    .output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("ok-vscode") && text.contains("ok-idea"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join(".vscode/tasks.json")).expect("tasks"),
        "t\n"
    );
    assert!(
        !repo.join(".idea").exists(),
        ".idea placeholder left behind"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let skipped = r.to_string();
    assert!(
        skipped.contains("filesystem.unprotected")
            && skipped.contains(&format!(
                "{} (.vscode) left writable",
                repo.join(".vscode").display()
            )),
        "report: {r}"
    );
}

/// `check` locates the dangerous `${PWD}` bind in the profile when started from `/` and
/// from `$HOME` (builtin:strict's shape, written as a file).
#[test]
fn check_locates_a_pwd_bind_of_root_or_home() {
    let t = TempDir::new("wdm-check");
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let p = t.profile(
        "pwd.toml",
        "extends = [\"builtin:minimal\"]\n[[mount]]\ntype = \"bind\"\nsource = \"${PWD}\"\n",
    );
    for (dir, what, at) in [
        (Path::new("/"), "onto `/`", ":3:1\n"),
        (home.as_path(), "it is the home directory", ":5:10\n"),
    ] {
        let out = TestCommand::new(["check".to_string(), p.display().to_string()])
            .env("HOME", &home)
            .current_dir(dir)
            .output();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", dir.display());
        assert!(err.contains(what), "{}: {err}", dir.display());
        assert!(
            err.contains(&format!("{}{at}", p.display())),
            "{}: not located: {err}",
            dir.display()
        );
    }
}
