//! The fetch-then-build profiles for cargo and npm, for real and offline: each shipped
//! profile, with a local registry on 127.0.0.2 in place of the public one, fetches through
//! stockade's proxy and builds with no network. The proxy resolves the registry's name
//! through the test-only map (see `src/net/resolve.rs`).

mod common;
mod net_support;

use common::{need_root, need_sandbox, skip, TempDir, TestCommand};
use net_support::{http_files, ports, shipped_profile, tools_present};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
        || !skip(&format!("{tool} is not installed"))
}

fn fixture(script: &str, dir: &Path, port: u16) {
    let out = Command::new("bash")
        .arg(script)
        .arg(dir)
        .arg(port.to_string())
        .output()
        .expect("run fixture script");
    assert!(out.status.success(), "{script}: {}", common::stderr(&out));
}

fn run_phases(profile: &Path, report: &Path, cwd: &Path, host: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "run".as_ref(),
        profile.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    TestCommand::new(args)
        .current_dir(cwd)
        .env("STOCKADE_TEST_NET_HOSTS", format!("{host}=127.0.0.2"))
        .env("STOCKADE_TEST_NET_LOOPBACK", "1")
        .output()
}

fn report(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("report is JSON")
}

/// The fetch phase's report: every connection allowed and to `host`, none denied.
fn assert_fetch_only_reached(rep: &Value, host: &str) {
    let net = &rep["network"];
    let conns = net["connections"].as_array().expect("connections");
    assert!(!conns.is_empty() && net["denied"] == 0, "{net:#}");
    assert!(
        conns
            .iter()
            .all(|c| c["host"] == host && c["verdict"] == "allowed"),
        "{net:#}"
    );
}

/// The build phase's report: its own network namespace and no proxy, so no connection at
/// all could leave it.
fn assert_build_offline(rep: &Value) {
    assert!(rep.get("network").is_none(), "build has a proxy: {rep:#}");
    let ns = rep["namespaces"].as_array().expect("namespaces");
    assert!(ns.iter().any(|n| n == "net"), "{ns:?}");
}

/// `profiles/cargo-fetch-build.toml` against a local sparse registry: `cargo fetch --locked`
/// downloads the locked crate through the proxy into ./.cargo-home; `cargo build --frozen`
/// builds it with no network and ./.cargo-home read-only (the build phase cannot change the
/// downloaded sources); a build phase that tries the network fails.
#[test]
fn cargo_fetch_build_profile_against_a_local_sparse_registry() {
    if need_sandbox() || need_root() || !tools_present() || !have("cargo") {
        return;
    }
    let dir = TempDir::new("cargo-fb");
    let (_, plain, _) = ports();
    let port = plain + 10;
    fixture("tests/net/cargo_fixture.sh", dir.path(), port);
    let _srv = http_files(&dir.join("www"), port);
    let allow = "allow = [\"index.crates.io\", \"static.crates.io\"]";
    let text = shipped_profile(
        "cargo-fetch-build.toml",
        &[(allow, format!("allow = [\"crates.test:{port}\"]"))],
    );
    let profile = dir.join("cargo.toml");
    std::fs::write(&profile, text).unwrap();
    let proj = dir.join("proj");
    let rep = dir.join("r.json");
    let out = run_phases(&profile, &rep, &proj, "crates.test", &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let built = Command::new(proj.join("target/debug/proj"))
        .output()
        .expect("run the built program");
    assert_eq!(String::from_utf8_lossy(&built.stdout).trim(), "value 42");
    assert!(
        std::fs::read_dir(proj.join(".cargo-home/registry/cache"))
            .map(|d| d.count() == 1)
            .unwrap_or(false),
        "the registry cache is in the project's CARGO_HOME"
    );
    assert_fetch_only_reached(&report(&dir.join("r.json.fetch")), "crates.test");
    assert_build_offline(&report(&dir.join("r.json.build")));

    // The build phase sees ./.cargo-home read-only: a build script that writes there fails.
    std::fs::write(
        proj.join("build.rs"),
        "fn main() { std::fs::write(concat!(env!(\"CARGO_HOME\"), \"/planted\"), \"x\")\
         .expect(\"write CARGO_HOME\"); }\n",
    )
    .unwrap();
    let out = run_phases(&profile, &rep, &proj, "crates.test", &["--phase", "build"]);
    assert!(
        !out.status.success(),
        "a build script wrote into CARGO_HOME"
    );
    assert!(
        common::stderr(&out).contains("Read-only file system"),
        "{}",
        common::stderr(&out)
    );
    assert!(!proj.join(".cargo-home/planted").exists());
}

/// `profiles/npm-fetch-build.toml` against a local registry: `npm ci --ignore-scripts`
/// installs through the proxy and runs no script; the build phase runs the dependency's
/// install script and the project's build script with no network (the install script's
/// request to the registry fails there).
#[test]
fn npm_fetch_build_profile_against_a_local_registry() {
    if need_sandbox() || need_root() || !tools_present() || !have("npm") || !have("node") {
        return;
    }
    let dir = TempDir::new("npm-fb");
    let (_, plain, _) = ports();
    let port = plain + 11;
    fixture("tests/net/npm_fixture.sh", dir.path(), port);
    let _srv = http_files(&dir.join("www"), port);
    let text = shipped_profile(
        "npm-fetch-build.toml",
        &[
            (
                "allow = [\"registry.npmjs.org\"]",
                format!("allow = [\"npm.test:{port}\"]"),
            ),
            (
                "set = { npm_config_cache",
                format!(
                    "set = {{ npm_config_registry = \"http://npm.test:{port}/\", npm_config_cache"
                ),
            ),
        ],
    );
    let profile = dir.join("npm.toml");
    std::fs::write(&profile, text).unwrap();
    let proj = dir.join("proj");
    let rep = dir.join("r.json");
    let dep = proj.join("node_modules/demo-pkg");

    let out = run_phases(&profile, &rep, &proj, "npm.test", &["--phase", "fetch"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(dep.join("index.js").exists(), "fetch installed demo-pkg");
    assert!(
        !dep.join("installed").exists() && !proj.join("script-ran").exists(),
        "fetch ran a lifecycle script"
    );
    assert_fetch_only_reached(&report(&dir.join("r.json.fetch")), "npm.test");

    let out = run_phases(&profile, &rep, &proj, "npm.test", &["--phase", "build"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        dep.join("installed").exists(),
        "build ran the install script"
    );
    assert!(
        !dep.join("online").exists(),
        "the install script reached the registry from the build phase"
    );
    assert_eq!(
        std::fs::read_to_string(proj.join("dist.txt")).unwrap_or_default(),
        "value 42\n"
    );
    assert_build_offline(&report(&dir.join("r.json.build")));
}
