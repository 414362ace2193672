//! OCI export of every profile shipped in `profiles/` (and every test profile under `tests/`):
//! validity against the official runtime-spec schema, a snapshot of each `config.json`, and the
//! round trip `compile(import(export(P))) == P`.
//!
//! Snapshots live in `tests/snapshots/oci/`; after an intended change regenerate them with
//! `STOCKADE_UPDATE_SNAPSHOTS=1 cargo test --test oci_profiles` and review the diff.

mod oci_support;

use oci_support::SchemaValidator;
use std::path::{Path, PathBuf};
use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::oci::{export_config, import};
use stockade::plan::Plan;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n == "snapshots" || n == "target")
            {
                continue;
            }
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Every profile in `profiles/`, then every test profile under `tests/`.
fn all_profiles() -> Vec<PathBuf> {
    let mut out = Vec::new();
    toml_files(&repo().join("profiles"), &mut out);
    assert!(!out.is_empty(), "no profiles in profiles/");
    toml_files(&repo().join("tests"), &mut out);
    assert!(
        out.iter()
            .any(|p| p.ends_with("tests/profiles/oci/everything.toml")),
        "the OCI coverage profile is missing"
    );
    out
}

/// The command the CLI's `-- CMD` would give a profile that has none.
const PLACEHOLDER_COMMAND: &str = "/bin/sh";

fn compile_path(path: &Path) -> Result<Plan, String> {
    // Repository files are loaded by their relative path (cargo runs tests from the package
    // root) so that the plan's `source`, and so the snapshots, do not depend on the checkout.
    let relative = path.strip_prefix(repo()).unwrap_or(path);
    let name = relative.to_str().unwrap();
    let loaded = stockade::profile::load::load(name).map_err(|e| format!("{:?}", e.diagnostics))?;
    if loaded.profile.phase.is_some() {
        // One sandbox per phase: `stockade oci export` refuses such a profile.
        return Err("PHASES".into());
    }
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let mut plan = compile(&loaded, &HostFacts::fixed(), &opts)
        .map_err(|d| d.to_string())?
        .plan;
    if plan.process.argv.is_empty() {
        plan.process.argv = vec![PLACEHOLDER_COMMAND.into()];
    }
    Ok(plan)
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The exportable profiles that compile with the fixed host facts (a test profile may be an intended
/// failure case; those are the compiler's tests, not ours). Every file of `profiles/` must.
fn compiled_profiles() -> Vec<(PathBuf, Plan)> {
    let mut out = Vec::new();
    for path in all_profiles() {
        match compile_path(&path) {
            // network.mode = "proxy" needs stockade's own proxy: its export must refuse,
            // and the OCI tests below cover only exportable plans.
            Ok(plan) if plan.egress.is_some() => {
                let e = export_config(&plan).err();
                assert!(
                    e.as_ref()
                        .is_some_and(|e| e.to_string().contains("network.mode")),
                    "{}: a proxy profile must not export: {e:?}",
                    rel(&path)
                );
            }
            Ok(plan) => out.push((path, plan)),
            Err(e) if e == "PHASES" => {}
            // The shipped profiles and this file's own test profiles must compile.
            Err(e) => assert!(
                !rel(&path).starts_with("profiles/")
                    && !rel(&path).starts_with("tests/profiles/oci/"),
                "{} does not compile: {e}",
                rel(&path)
            ),
        }
    }
    out
}

#[test]
fn every_profile_exports_a_schema_valid_config() {
    let schema = SchemaValidator::new();
    for (path, plan) in compiled_profiles() {
        let exported =
            export_config(&plan).unwrap_or_else(|e| panic!("{}: export failed: {e}", rel(&path)));
        schema.assert_valid(&rel(&path), &exported.config_json);
    }
}

#[test]
fn snapshot_of_every_shipped_profile() {
    let update = std::env::var_os("STOCKADE_UPDATE_SNAPSHOTS").is_some();
    let dir = repo().join("tests/snapshots/oci");
    let mut failures = Vec::new();
    for (path, plan) in compiled_profiles() {
        let name = rel(&path);
        let Some(stem) = name.strip_prefix("profiles/") else {
            continue;
        };
        let exported = export_config(&plan).unwrap();
        // The notes are part of the contract too: kept next to the config.
        let notes: String = exported.notes.iter().map(|n| format!("{n}\n")).collect();
        let base = dir.join(stem.replace('/', "__").replace(".toml", ""));
        let files = [
            (base.with_extension("json"), exported.config_json.clone()),
            (base.with_extension("notes"), notes),
        ];
        for (snap, text) in files {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&snap, &text).unwrap();
                continue;
            }
            match std::fs::read_to_string(&snap) {
                Ok(old) if old == text => {}
                Ok(_) => failures.push(format!("{name}: differs from {}", rel(&snap))),
                Err(_) => failures.push(format!("{name}: no snapshot {}", rel(&snap))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(rerun with STOCKADE_UPDATE_SNAPSHOTS=1 and review the diff)",
        failures.join("\n")
    );
}

#[test]
fn export_of_each_profile_is_deterministic() {
    for (path, plan) in compiled_profiles() {
        let a = export_config(&plan).unwrap().config_json;
        let b = export_config(&plan.clone()).unwrap().config_json;
        assert_eq!(a, b, "{}", rel(&path));
    }
}

/// `compile(import(export(P)))` must be P itself. Fields that are not part of the sandbox
/// are aligned before comparing: `source` (the imported file's path), `description`, and
/// `warnings` (diagnostics about the profile's text: the imported profile spells out every
/// seccomp rule of a preset, which draws per-rule notes such as "syscall X does not exist
/// on this architecture" that the preset itself does not).
#[test]
fn import_of_the_export_compiles_to_the_same_plan() {
    let dir = oci_support::TempDir::new("roundtrip");
    let mut failures = Vec::new();
    for (i, (path, plan)) in compiled_profiles().into_iter().enumerate() {
        let name = rel(&path);
        let exported = export_config(&plan).unwrap();
        let profile = match import(&exported.config_json) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: import failed: {e}"));
                continue;
            }
        };
        let file = dir.join(format!("{i}.toml"));
        std::fs::write(&file, &profile).unwrap();
        let mut back = match compile_path(&file) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!(
                    "{name}: imported profile does not compile: {e}\n{profile}"
                ));
                continue;
            }
        };
        back.source = plan.source.clone();
        back.description = plan.description.clone();
        back.warnings = plan.warnings.clone();
        if back != plan {
            failures.push(format!(
                "{name}: round trip differs:\n{}",
                diff(&plan, &back)
            ));
        }
    }
    drop(dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The top-level Plan fields that differ, as JSON.
fn diff(a: &Plan, b: &Plan) -> String {
    let a = serde_json::to_value(a).unwrap();
    let b = serde_json::to_value(b).unwrap();
    let mut out = String::new();
    for (k, va) in a.as_object().unwrap() {
        let vb = &b[k];
        if va != vb {
            out.push_str(&format!("  {k}:\n    original: {va}\n    imported: {vb}\n"));
        }
    }
    out
}
