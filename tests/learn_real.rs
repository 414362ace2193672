//! `stockade learn` on real builds (issue 15): `cargo build --offline` of a small crate and
//! `npm ci` against a local registry. Each is learnt on a fresh base, then run again from
//! clean under the learnt profile alone (it must build), and something the build never did
//! is refused.

mod common;
mod learn_support;
mod net_support;

use learn_support::*;
use net_support::http_files;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The learning base plus what a build needs from the caller: the toolchain read-only and
/// the variables that locate it.
fn toolchain_base(network: &str, home: &str) -> String {
    format!(
        "{}\n[env]\nset = {{ HOME = \"{home}\", RUSTUP_HOME = \"{home}/.rustup\", CARGO_HOME = \"{home}/.cargo\", PATH = \"{home}/.cargo/bin:/usr/bin:/bin\", CARGO_TERM_COLOR = \"never\" }}\n\
         [[mount]]\ntype = \"bind\"\nsource = \"{home}/.rustup\"\nread-only = true\noptional = true\n\
         [[mount]]\ntype = \"bind\"\nsource = \"{home}/.cargo\"\nread-only = true\noptional = true\n",
        base(network).replace("[env]\nkeep = [\"PATH\"]\n", "")
    )
}

/// Learn `cmd` twice from a clean tree (`output` removed first), then merge both logs into
/// `learnt.toml`, and remove `output` again for the enforced run.
fn learn_runs_merged(dir: &std::path::Path, cmd: &[&str], output: &str) {
    for round in ["first", "second"] {
        let _ = std::fs::remove_dir_all(dir.join(output));
        let learnt = learn(dir, "base.toml", "one.toml", cmd, None);
        assert!(learnt.status.success(), "learn: {}", text(&learnt));
        std::fs::rename(dir.join("learn.jsonl"), dir.join(format!("{round}.jsonl"))).expect("log");
    }
    let merged = in_dir(
        common::TestCommand::new([
            "learn",
            "base.toml",
            "--from-log",
            "first.jsonl",
            "--from-log",
            "second.jsonl",
            "-o",
            "learnt.toml",
        ]),
        dir,
        None,
    );
    assert!(merged.status.success(), "merge: {}", text(&merged));
    let _ = std::fs::remove_dir_all(dir.join(output));
}

#[test]
fn a_learnt_profile_runs_cargo_build() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    if !have("cargo") || !std::path::Path::new(&home).join(".rustup").is_dir() {
        common::skip("cargo (rustup under $HOME) is not installed");
        return;
    }
    let dir = project("learn-cargo", "none", None);
    dir.profile("base.toml", &toolchain_base("none", &home));
    std::fs::create_dir(dir.join("src")).expect("src");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"learnt\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("Cargo.toml");
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"built by cargo\"); }\n",
    )
    .expect("main.rs");
    let build = ["cargo", "build", "--offline"];
    let d = dir.path();
    // One run shows only some of cargo's paths through the system (a signal here, a
    // utimensat there): learn two clean builds and merge their logs, as the README advises.
    learn_runs_merged(d, &build, "target");
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    let again = run(d, "learnt.toml", &build, None);
    assert!(
        again.status.success(),
        "cargo build under the learnt profile: {}\n{patch}",
        text(&again)
    );
    let out = Command::new(dir.join("target/debug/learnt"))
        .output()
        .expect("the built program");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "built by cargo\n");
    let extra = run(d, "learnt.toml", &["sh", "-c", "cat /etc/passwd"], None);
    assert!(!extra.status.success(), "{}", text(&extra));
}

#[test]
fn a_learnt_profile_runs_npm_ci_against_a_local_registry() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    if !have("npm") || !have("node") {
        common::skip("npm is not installed");
        return;
    }
    let dir = project("learn-npm", "host", None);
    let port = 21000 + (std::process::id() % 2000) as u16;
    let out = Command::new("bash")
        .arg("tests/net/npm_fixture.sh")
        .arg(dir.path())
        .arg(port.to_string())
        .output()
        .expect("fixture");
    assert!(out.status.success(), "{}", text(&out));
    let server = http_files(&dir.join("www"), port);
    let proj = dir.join("proj");
    // The fixture names the registry npm.test; here it is reached by address.
    let lock = proj.join("package-lock.json");
    let locked = std::fs::read_to_string(&lock).expect("lock");
    std::fs::write(&lock, locked.replace("npm.test", "127.0.0.2")).expect("lock");
    // The base binds ${PWD}: the project, where learn and run start.
    let profile = base("host").replace(
        "[env]\nkeep = [\"PATH\"]",
        &format!(
            "[env]\nkeep = [\"PATH\"]\nset = {{ HOME = \"/tmp\", npm_config_cache = \"/tmp/npm-cache\", npm_config_registry = \"http://127.0.0.2:{port}/\", npm_config_update_notifier = \"false\" }}"
        ),
    );
    std::fs::write(proj.join("base.toml"), format!("version = 1\n{profile}")).expect("base");
    let ci = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"];
    // npm's paths differ from run to run (what it stages, renames and cleans up).
    learn_runs_merged(&proj, &ci, "node_modules");
    let patch = std::fs::read_to_string(proj.join("learnt.toml")).unwrap_or_default();
    assert!(
        patch.contains(&format!("{port}, #")),
        "the registry's port is learnt:\n{patch}"
    );
    let again = run(&proj, "learnt.toml", &ci, None);
    drop(server);
    assert!(
        again.status.success(),
        "npm ci under the learnt profile: {}\n{patch}",
        text(&again)
    );
    let installed =
        std::fs::read_to_string(proj.join("node_modules/demo-pkg/index.js")).expect("installed");
    assert_eq!(installed.trim(), "module.exports = 42;");
}

/// With `network.mode = "proxy"`, learn lets a host the list does not name through (still
/// only by name, never an IP literal or the host's loopback, which the test map opens
/// here) and learns it for `network.allow`: the learnt profile reaches it and still
/// refuses another host.
#[test]
fn a_host_reached_through_the_proxy_is_learnt_for_the_allow_list() {
    if common::need_sandbox() || common::need_root() || !have("curl") {
        return;
    }
    let dir = project("learn-egress", "proxy", None);
    std::fs::create_dir(dir.join("www")).expect("www");
    std::fs::write(dir.join("www/index.html"), "through the proxy\n").expect("page");
    let port = 23000 + (std::process::id() % 2000) as u16;
    let server = http_files(&dir.join("www"), port);
    let profile = base("proxy").replace(
        "mode = \"proxy\"",
        &format!("mode = \"proxy\"\nallow = [\"listed.test:{port}\"]"),
    );
    std::fs::write(dir.join("base.toml"), format!("version = 1\n{profile}")).expect("base");
    let hosts = "plain.test=127.0.0.2,other.test=127.0.0.2,listed.test=127.0.0.2";
    let with_map = |args: Vec<&str>| {
        common::TestCommand::new(args)
            .env("STOCKADE_TEST_NET_HOSTS", hosts)
            .env("STOCKADE_TEST_NET_LOOPBACK", "1")
    };
    let url = format!("http://plain.test:{port}/");
    let fetch = ["curl", "-sf", "--max-time", "10", url.as_str()];
    let mut args = vec!["run", "base.toml", "--"];
    args.extend_from_slice(&fetch);
    let denied = in_dir(with_map(args), dir.path(), None);
    assert!(
        !denied.status.success(),
        "the base must refuse plain.test: {}",
        text(&denied)
    );
    let mut args = vec!["learn", "base.toml", "-o", "learnt.toml", "--"];
    args.extend_from_slice(&fetch);
    let learnt = in_dir(with_map(args), dir.path(), None);
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).unwrap_or_default();
    assert!(learnt.status.success(), "learn: {}\n{patch}", text(&learnt));
    assert!(
        patch.contains(&format!(
            "[network]\nallow = [\n    \"plain.test:{port}\", # proxy (1x)"
        )),
        "{patch}"
    );
    let mut args = vec!["run", "learnt.toml", "--"];
    args.extend_from_slice(&fetch);
    let again = in_dir(with_map(args), dir.path(), None);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "through the proxy\n",
        "{}\n{patch}",
        text(&again)
    );
    let other = format!("http://other.test:{port}/");
    let args = vec![
        "run",
        "learnt.toml",
        "--",
        "curl",
        "-sf",
        "--max-time",
        "10",
        &other,
    ];
    let refused = in_dir(with_map(args), dir.path(), None);
    drop(server);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        common::stderr(&refused).contains(&format!("denied http other.test:{port}")),
        "{}",
        text(&refused)
    );
}
