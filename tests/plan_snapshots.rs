//! Snapshots of `stockade plan` (text and JSON) for every profile in profiles/ and every
//! built-in profile, compiled with fixed host facts (`HostFacts::fixed()`: uid 1000, cwd
//! /home/dev/src/project, Landlock ABI 7, ...) so they do not depend on the machine.
//! The repository's absolute path is written `<repo>`.
//!
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test --test plan_snapshots`, then
//! review the diff of tests/snapshots/plan/.

mod util;

use stockade::compile::{compile_phases, CompileOptions};
use stockade::diag;
use stockade::host::HostFacts;
use stockade::profile::{builtin, load::load};

/// Every profile the snapshots cover: files under profiles/ (relative to the repository,
/// which is the test's working directory) and `builtin:NAME`.
fn profiles() -> Vec<String> {
    let mut out: Vec<String> = util::files(&util::repo().join("profiles"), ".toml")
        .iter()
        .map(|p| util::rel(p))
        .collect();
    out.extend(builtin::names().map(|n| format!("builtin:{n}")));
    out
}

/// `profiles/base/minimal.toml` → `base-minimal`, `builtin:strict` → `builtin-strict`.
fn snapshot_name(profile: &str) -> String {
    profile
        .trim_start_matches("profiles/")
        .trim_end_matches(".toml")
        .replace(['/', ':'], "-")
}

/// (text, json) of the plan, or the rendered diagnostics.
fn plan_of(profile: &str, host: &HostFacts) -> Result<(String, String), String> {
    let loaded = load(profile).map_err(|e| diag::render(&e.diagnostics.0, &e.sources, false))?;
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    // A profile with `[[phase]]` is one plan per phase, rendered as `stockade plan` does.
    let phases = compile_phases(&loaded, host, &opts, None)
        .map_err(|d| diag::render(&d.0, &loaded.sources, false))?;
    let mut text = String::new();
    for ph in &phases {
        if !ph.name.is_empty() {
            text.push_str(&format!("=== phase {} ===\n", ph.name));
        }
        text.push_str(&stockade::plan::explain::render_text(&ph.compiled.plan));
    }
    let json = if phases.len() == 1 && phases[0].name.is_empty() {
        serde_json::to_string_pretty(&phases[0].compiled.plan)
    } else {
        let list: Vec<serde_json::Value> = phases
            .iter()
            .map(|p| serde_json::json!({ "phase": p.name, "plan": p.compiled.plan }))
            .collect();
        serde_json::to_string_pretty(&list)
    }
    .map_err(|e| e.to_string())?
        + "\n";
    Ok((util::scrub(&text), util::scrub(&json)))
}

#[test]
fn plans_match_their_snapshots() {
    let dir = util::repo().join("tests/snapshots/plan");
    let host = HostFacts::fixed();
    let mut failures = Vec::new();
    let all = profiles();
    assert!(all.len() >= 6, "profiles found: {all:?}");
    for profile in &all {
        match plan_of(profile, &host) {
            Ok((text, json)) => {
                let name = snapshot_name(profile);
                for (ext, body) in [("txt", &text), ("json", &json)] {
                    if let Err(e) = util::check_snapshot(&dir.join(format!("{name}.{ext}")), body) {
                        failures.push(e);
                    }
                }
                // The JSON is valid and names its source.
                let v: serde_json::Value =
                    serde_json::from_str(&json).expect("plan JSON parses back");
                let plans: Vec<&serde_json::Value> = match v.as_array() {
                    Some(list) => list.iter().map(|p| &p["plan"]).collect(),
                    None => vec![&v],
                };
                for p in plans {
                    assert_eq!(p["source"], serde_json::json!(profile));
                }
            }
            Err(diags) => failures.push(format!("{profile} does not compile:\n{diags}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_stale_plan_snapshots() {
    let dir = util::repo().join("tests/snapshots/plan");
    let names: Vec<String> = profiles().iter().map(|p| snapshot_name(p)).collect();
    for ext in [".txt", ".json"] {
        for snap in util::files(&dir, ext) {
            let stem = snap
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(
                names.contains(&stem),
                "{} belongs to no profile (remove it)",
                util::rel(&snap)
            );
        }
    }
}

#[test]
fn plans_are_deterministic() {
    let host = HostFacts::fixed();
    for profile in profiles() {
        let a = plan_of(&profile, &host);
        let b = plan_of(&profile, &host);
        assert_eq!(a, b, "{profile}");
    }
}

#[test]
fn the_plan_command_prints_the_same_text() {
    // The CLI probes the real host; with a profile that uses no host facts the output
    // equals the library's rendering with any host facts. builtin:minimal uses ${UID} and
    // ${GID}, so compare the parts that do not: the step list.
    let out = util::stockade(&["plan", "builtin:strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let cli = util::text(&out.stdout);
    let (lib, _) = plan_of("builtin:strict", &HostFacts::fixed()).expect("strict compiles");
    let steps = |s: &str| -> Vec<String> {
        s.lines()
            .skip_while(|l| *l != "steps")
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert!(cli.starts_with("plan for builtin:strict\n"), "{cli}");
    assert_eq!(steps(&cli).len(), steps(&lib).len(), "{cli}\n---\n{lib}");
}
