//! Every profile in tests/fixtures/bad/ holds one mistake. `stockade check` must reject it
//! with exit status 1, without panicking, and print exactly the diagnostic in the `.stderr`
//! file next to it: `path:line:col`, the source line, a caret and a `help:` line.
//!
//! After an intended change of a message: `UPDATE_SNAPSHOTS=1 cargo test --test bad_profiles`.

mod util;

use std::path::PathBuf;

/// Cases where no `help:` line would add anything.
const WITHOUT_HELP: &[&str] = &[
    // The TOML parser's own message says what is missing.
    "toml-syntax-error.toml",
];

fn cases() -> Vec<PathBuf> {
    let dir = util::repo().join("tests/fixtures/bad");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/bad exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    out
}

#[test]
fn there_are_enough_distinct_cases() {
    let cases = cases();
    assert!(cases.len() >= 45, "only {} bad profiles", cases.len());
    // Distinct: no two cases produce the same first message.
    let mut firsts = std::collections::BTreeMap::new();
    for case in &cases {
        let out = util::stockade(&["check", &util::rel(case)]);
        let first = util::text(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Some(other) = firsts.insert(first.clone(), util::rel(case)) {
            panic!(
                "{} and {other} report the same thing: {first}",
                util::rel(case)
            );
        }
    }
}

#[test]
fn every_bad_profile_is_rejected_with_its_snapshot() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = util::rel(&case);
        let file = case
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = util::stockade(&["check", &name]);
        let stderr = util::scrub(&util::text(&out.stderr));
        let stdout = util::text(&out.stdout);
        let mut problems = Vec::new();
        if out.status.code() != Some(1) {
            problems.push(format!("exit status {:?}, expected 1", out.status.code()));
        }
        if stderr.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        if !(stdout.starts_with(&format!("{name}: ")) && stdout.ends_with(" error(s)\n")) {
            problems.push(format!("unexpected stdout: {stdout:?}"));
        }
        if !has_location(&stderr) {
            problems.push("no ` --> path:line:col` line".to_owned());
        }
        if !stderr.lines().any(|l| l.contains(" | ") && l.contains('^')) {
            problems.push("no source line with a caret".to_owned());
        }
        if !stderr.contains("= help: ") && !WITHOUT_HELP.contains(&file.as_str()) {
            problems.push("no `help:` line".to_owned());
        }
        if let Err(e) = util::check_snapshot(&case.with_extension("stderr"), &stderr) {
            problems.push(e);
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}\n{stderr}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} bad profile(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_snapshot_has_its_profile() {
    let dir = util::repo().join("tests/fixtures/bad");
    for snap in util::files(&dir, ".stderr") {
        assert!(
            snap.with_extension("toml").exists(),
            "{} has no profile (remove it)",
            util::rel(&snap)
        );
    }
}

/// ` --> tests/fixtures/bad/x.toml:4:9`
fn has_location(stderr: &str) -> bool {
    stderr.lines().any(|l| {
        let Some(rest) = l.trim_start().strip_prefix("--> ") else {
            return false;
        };
        let mut parts = rest.rsplitn(3, ':');
        let col = parts.next().and_then(|c| c.parse::<usize>().ok());
        let line = parts.next().and_then(|c| c.parse::<usize>().ok());
        let path = parts.next().unwrap_or_default();
        col.is_some() && line.is_some() && path.ends_with(".toml")
    })
}
