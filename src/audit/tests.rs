//! Unit tests of the audit on compiled built-ins: `--host` and determinism.

use super::{audit, date::Date, HostView, Options};
use crate::compile::{compile, CompileOptions};
use crate::host::HostFacts;
use crate::profile::load::load;
use std::path::Path;

fn counted(name: &str, host: Option<HostView>) -> Vec<&'static str> {
    let loaded = load(name).expect("built-in loads");
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let plan = compile(&loaded, &HostFacts::fixed(), &opts)
        .expect("built-in compiles")
        .plan;
    let today = Date::parse("2026-06-01").expect("date");
    let report = audit(
        &loaded,
        &plan,
        Path::new("/home/dev"),
        &Options { host, today },
    )
    .expect("audit");
    let mut ids: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.counted)
        .map(|f| f.id)
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn host_mode_scores_what_an_older_kernel_enforces_under_best_effort() {
    let full = counted("builtin:strict", None);
    // A kernel as new as the profile: the same findings.
    let new = HostView {
        landlock_abi: 7,
        tiocsti_disabled: false,
    };
    assert_eq!(counted("builtin:strict", Some(new)), full);
    // ABI 3: no scopes, no ioctl-dev; strict has its own PID and network namespaces, so
    // the missing scopes stay moot and only the unhandled rights count.
    let old = HostView {
        landlock_abi: 3,
        tiocsti_disabled: false,
    };
    let on_old = counted("builtin:strict", Some(old));
    assert!(on_old.contains(&"STK-LL-002"), "{on_old:?}");
    assert!(!full.contains(&"STK-LL-002"), "{full:?}");
    // No Landlock at all: best-effort turns into no ruleset.
    let none = HostView {
        landlock_abi: 0,
        tiocsti_disabled: false,
    };
    let on_none = counted("builtin:strict", Some(none));
    assert!(on_none.contains(&"STK-LL-001"), "{on_none:?}");
    assert!(!on_none.contains(&"STK-LL-005"), "{on_none:?}");
}

#[test]
fn audits_are_deterministic() {
    assert_eq!(
        counted("builtin:minimal", None),
        counted("builtin:minimal", None)
    );
}
