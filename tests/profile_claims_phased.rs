//! The claims of the phased fetch/build profiles for cargo and npm, checked from inside each
//! phase's sandbox with the probe (see tests/profile_claims.rs for the method and the
//! single-phase profiles; tests/net_fetch_build.rs runs the real tools against local
//! registries).
//!
//! | profile | claim | enforced by | checked in |
//! |---|---|---|---|
//! | cargo-fetch-build | fetch: crates.io hosts only via the proxy; build: no network | proxy / net namespace | `cargo_fetch_build`, net_fetch_build.rs |
//! | cargo-fetch-build | writes only to the project (+ private /tmp); toolchain read-only | read-only root and binds | `cargo_fetch_build` |
//! | cargo-fetch-build | ./.cargo-home read-only in the build phase | phase mount | `cargo_fetch_build`, net_fetch_build.rs (build script refused) |
//! | cargo-fetch-build | registry tokens and CARGO_TARGET_DIR not passed; RUST* kept | env | `cargo_fetch_build` |
//! | cargo-fetch-build | 1 h per phase; 4 GiB, 512 tasks where cgroups can be used | timeout, cgroup | `phased_limits_in_the_plan` |
//! | npm-fetch-build | fetch: registry.npmjs.org only via the proxy, no scripts; build: no network | proxy / net namespace, argv | `npm_fetch_build`, net_fetch_build.rs |
//! | npm-fetch-build | writes only to the project (+ private /tmp) | read-only root and binds | `npm_fetch_build` |
//! | npm-fetch-build | only NODE_OPTIONS kept: no npm tokens | env | `npm_fetch_build` |
//! | npm-fetch-build | 30 min per phase; 2 GiB, 512 tasks where cgroups can be used | timeout, cgroup | `phased_limits_in_the_plan` |

mod claims_support;
mod common;

use claims_support::*;
use common::*;
use std::collections::HashMap;
use std::path::Path;

/// A copy of a phased shipped profile whose every phase runs the probe `checks` instead of
/// its command (`-- CMD` cannot replace a phase's command), with the probe bound at /probe
/// and allowed to execute.
fn probed_copy(dir: &TempDir, name: &str, checks: &[Check]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(shipped(name)).unwrap();
    let cmd = serde_json::to_string(&["/bin/sh", "-c", &script(checks)]).unwrap();
    let base = shipped("base/minimal.toml");
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("command = ") {
            out.push_str(&format!("command = {cmd}\n"));
        } else if line.starts_with("extends = ") {
            out.push_str(&format!("extends = [\"{}\"]\n", base.display()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        out.contains("\nexec = ["),
        "{name} has a Landlock exec list"
    );
    let out = out.replace("\nexec = [", "\nexec = [\"/probe\", ").replacen(
        "[[phase]]",
        &format!(
            "[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/probe\"\nread-only = true\n\n[[phase]]",
            probe_dir().display()
        ),
        1,
    );
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

fn run_phase(
    p: &Path,
    phase: &str,
    cwd: &Path,
    env: &[(&str, &str)],
) -> HashMap<String, serde_json::Value> {
    let mut cmd = TestCommand::new([
        "run".as_ref(),
        p.as_os_str(),
        "--phase".as_ref(),
        phase.as_ref(),
    ])
    .current_dir(cwd);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let o = cmd.output();
    assert!(o.status.success(), "{phase}: {}", stderr(&o));
    parse(&o)
}

/// What both phases of both profiles promise: their own namespaces with only loopback, a
/// read-only root, the project writable, no direct connection out, the proxy in fetch only.
fn common_phase_claims(r: &HashMap<String, serde_json::Value>, phase: &str) {
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    refused(r, "root");
    assert_eq!(r["cwd"]["ok"], true, "{phase}: {}", r["cwd"]);
    assert_eq!(r["connect"]["ok"], false, "{phase}");
    let proxy = env_of(facts, "HTTPS_PROXY");
    match phase {
        "fetch" => assert_eq!(proxy, Some("http://127.0.0.1:3128")),
        _ => assert_eq!(proxy, None, "the build phase has no proxy"),
    }
}

#[test]
fn cargo_fetch_build() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-cargo-fb");
    for d in ["home/.cargo", "home/.rustup", "work/.cargo-home"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let (home, work) = (dir.join("home"), dir.join("work"));
    let (_l, port) = host_listener();
    let w = |f: &str| work.join(f).display().to_string();
    let h = |f: &str| home.join(f).display().to_string();
    let checks = [
        c("facts", &["facts"]),
        c("cwd", &["try-write", &w("written")]),
        c("cache", &["try-write", &w(".cargo-home/x")]),
        c("root", &["try-write", "/claims"]),
        c("cargo", &["try-write", &h(".cargo/x")]),
        c("rustup", &["try-write", &h(".rustup/x")]),
        c("connect", &["try-connect", &port]),
    ];
    let p = probed_copy(&dir, "cargo-fetch-build.toml", &checks);
    let env = [
        ("HOME", home.to_str().unwrap()),
        ("RUSTFLAGS", "-Cclaims"),
        ("CARGO_BUILD_JOBS", "1"),
        ("CARGO_REGISTRY_TOKEN", "secret"),
        ("CARGO_REGISTRIES_CORP_TOKEN", "secret"),
        ("CARGO_TARGET_DIR", "/elsewhere"),
    ];
    for phase in ["fetch", "build"] {
        let r = run_phase(&p, phase, &work, &env);
        common_phase_claims(&r, phase);
        refused(&r, "cargo");
        refused(&r, "rustup");
        match phase {
            "fetch" => assert_eq!(r["cache"]["ok"], true, "fetch fills the cache"),
            _ => refused(&r, "cache"),
        }
        let facts = &r["facts"];
        assert_eq!(env_of(facts, "CARGO_HOME"), Some(w(".cargo-home").as_str()));
        assert_eq!(env_of(facts, "RUSTFLAGS"), Some("-Cclaims"));
        assert_eq!(env_of(facts, "CARGO_BUILD_JOBS"), Some("1"));
        for k in [
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_CORP_TOKEN",
            "CARGO_TARGET_DIR",
        ] {
            assert_eq!(env_of(facts, k), None, "{phase}: {k} passed in");
        }
    }
}

#[test]
fn npm_fetch_build() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-npm-fb");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let (_l, port) = host_listener();
    let checks = [
        c("facts", &["facts"]),
        c(
            "cwd",
            &["try-write", &work.join("written").display().to_string()],
        ),
        c("root", &["try-write", "/claims"]),
        c("connect", &["try-connect", &port]),
    ];
    let p = probed_copy(&dir, "npm-fetch-build.toml", &checks);
    let env = [
        ("NODE_OPTIONS", "--no-warnings"),
        ("NPM_TOKEN", "secret"),
        ("npm_config__authToken", "secret"),
        ("npm_config_registry", "http://elsewhere/"),
    ];
    for phase in ["fetch", "build"] {
        let r = run_phase(&p, phase, &work, &env);
        common_phase_claims(&r, phase);
        let facts = &r["facts"];
        assert_eq!(env_of(facts, "NODE_OPTIONS"), Some("--no-warnings"));
        assert_eq!(env_of(facts, "HOME"), Some("/tmp"));
        for k in ["NPM_TOKEN", "npm_config__authToken", "npm_config_registry"] {
            assert_eq!(env_of(facts, k), None, "{phase}: {k} passed in");
        }
    }
    let plan = plan_json(&shipped("npm-fetch-build.toml"));
    let fetch = &plan[0]["plan"]["process"]["argv"];
    assert!(
        fetch
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--ignore-scripts"),
        "{fetch}"
    );
}

/// The wall-time and cgroup limits both descriptions name, for every phase.
#[test]
fn phased_limits_in_the_plan() {
    const GIB: u64 = 1 << 30;
    for (name, timeout_ms, memory) in [
        ("cargo-fetch-build.toml", 3_600_000, 4 * GIB),
        ("npm-fetch-build.toml", 1_800_000, 2 * GIB),
    ] {
        let plan = plan_json(&shipped(name));
        let phases = plan.as_array().expect("one plan per phase");
        let names: Vec<&str> = phases.iter().filter_map(|p| p["phase"].as_str()).collect();
        assert_eq!(names, ["fetch", "build"], "{name}");
        for ph in phases {
            let (p, which) = (&ph["plan"], &ph["phase"]);
            assert_eq!(p["process"]["timeout_ms"], timeout_ms, "{name} {which}");
            assert_eq!(p["resources"]["memory_max"], memory, "{name} {which}");
            assert_eq!(p["resources"]["pids_max"], 512, "{name} {which}");
        }
    }
}
