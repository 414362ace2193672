//! `stockade audit`: one golden profile per finding id (a clean base with one change that
//! triggers exactly the listed ids), dominance, suppressions, exit codes, baselines, SARIF
//! validated against the official SARIF 2.1.0 schema, and the score of every shipped
//! profile and built-in (the table in README.md).

mod common;

use common::TempDir;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// A profile with no counted finding: every mechanism on and tight.
const CLEAN: &str = r#"description = "clean"

[process]
user = "${UID}"
group = "${GID}"
new-session = true

[env]
clear = true
keep = ["PATH", "TERM"]

[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true
cgroup = true

[network]
mode = "none"

[filesystem]
root = "tmpfs"

[[mount]]
type = "bind"
source = "/usr"
read-only = true

[[mount]]
type = "tmpfs"
target = "/tmp"

[resources]
memory = "1GiB"
pids = 64

[rlimits]
core = 0

[seccomp]
default-action = "errno:ENOSYS"
allow = ["read", "write", "exit_group"]

[landlock]
read = ["/usr"]
exec = ["/usr"]
write = ["/tmp"]
connect-tcp = []
bind-tcp = []
scope = ["abstract-unix-socket", "signal"]

[capabilities]
no-new-privs = true
"#;

/// (id, replacements applied to CLEAN, counted ids expected).
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<&'static str>,
);

fn cases() -> Vec<Case> {
    let host_net = ("mode = \"none\"", "mode = \"host\"");
    vec![
        ("STK-AUD-001", vec![("[capabilities]", "[[audit.suppress]]\nid = \"STK-RL-001\"\nreason = \"crash dumps wanted\"\nuntil = \"2020-01-31\"\n\n[capabilities]")], vec!["STK-AUD-001"]),
        ("STK-CAP-001", vec![("no-new-privs = true", "no-new-privs = true\nkeep = [\"CAP_SYS_ADMIN\"]")], vec!["STK-CAP-001"]),
        ("STK-CAP-002", vec![("no-new-privs = true", "no-new-privs = true\nkeep = [\"CAP_NET_BIND_SERVICE\"]")], vec!["STK-CAP-002"]),
        ("STK-CAP-003", vec![("no-new-privs = true", "no-new-privs = true\nkeep = [\"CAP_NET_BIND_SERVICE\"]\nambient = [\"CAP_NET_BIND_SERVICE\"]")], vec!["STK-CAP-002", "STK-CAP-003"]),
        ("STK-CG-001", vec![("pids = 64\n", "")], vec!["STK-CG-001"]),
        ("STK-CG-002", vec![("memory = \"1GiB\"\n", "")], vec!["STK-CG-002"]),
        ("STK-ENV-001", vec![("keep = [\"PATH\", \"TERM\"]", "keep = [\"PATH\", \"TERM\", \"AWS_*\"]")], vec!["STK-ENV-001"]),
        ("STK-ENV-002", vec![("clear = true", "clear = false")], vec!["STK-ENV-002"]),
        ("STK-FS-001", vec![("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"/\"\ntarget = \"/host\"\nread-only = true\n\n[resources]")], vec!["STK-FS-001"]),
        ("STK-FS-002", vec![("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"${HOME}\"\ntarget = \"/home/me\"\nread-only = true\n\n[resources]")], vec!["STK-FS-002"]),
        ("STK-FS-003", vec![("no-new-privs = true", "no-new-privs = false\nkeep = [\"CAP_SYS_ADMIN\"]"), ("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"/var/tmp\"\nnosuid = false\nnodev = true\n\n[resources]")], vec!["STK-CAP-001", "STK-FS-003", "STK-FS-006", "STK-PRIV-001"]),
        ("STK-FS-004", vec![("user = true", "user = false"), ("user = \"${UID}\"\ngroup = \"${GID}\"", "user = 1000\ngroup = 1000"), ("no-new-privs = true", "no-new-privs = true\nkeep = [\"CAP_MKNOD\"]"), ("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"/var/tmp\"\nnosuid = true\nnodev = false\n\n[resources]")], vec!["STK-CAP-001", "STK-FS-004", "STK-FS-006", "STK-NS-001"]),
        ("STK-FS-005", vec![("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"/run\"\nread-only = true\n\n[resources]")], vec!["STK-FS-005"]),
        ("STK-FS-006", vec![("[resources]", "[[mount]]\ntype = \"bind\"\nsource = \"/var/tmp\"\nnosuid = true\nnodev = true\n\n[resources]")], vec!["STK-FS-006"]),
        ("STK-LL-001", vec![("[landlock]", "[landlock]\nenabled = false")], vec!["STK-LL-001"]),
        ("STK-LL-002", vec![("connect-tcp = []\nbind-tcp = []\nscope = [\"abstract-unix-socket\", \"signal\"]", "abi = 3")], vec!["STK-LL-002"]),
        ("STK-LL-003", vec![host_net, ("scope = [\"abstract-unix-socket\", \"signal\"]", "scope = [\"signal\"]")], vec!["STK-LL-003", "STK-NET-001"]),
        ("STK-LL-004", vec![("pid = true", "pid = false"), ("scope = [\"abstract-unix-socket\", \"signal\"]", "scope = [\"abstract-unix-socket\"]")], vec!["STK-LL-004", "STK-NS-003"]),
        ("STK-LL-005", vec![("exec = [\"/usr\"]", "exec = [\"/usr\", \"/tmp\"]")], vec!["STK-LL-005"]),
        ("STK-NET-001", vec![host_net], vec!["STK-NET-001"]),
        ("STK-NET-002", vec![host_net, ("connect-tcp = []\n", "")], vec!["STK-NET-001", "STK-NET-002"]),
        ("STK-NET-003", vec![host_net, ("bind-tcp = []\n", "")], vec!["STK-NET-001", "STK-NET-003"]),
        ("STK-NET-004", vec![host_net, ("connect-tcp = []", "connect-tcp = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]")], vec!["STK-NET-001", "STK-NET-004"]),
        ("STK-NET-005", vec![("mode = \"none\"", "mode = \"proxy\"\nallow = [\"*.crates.io\", \"static.rust-lang.org\"]")], vec!["STK-NET-005"]),
        ("STK-NS-001", vec![("user = true", "user = false"), ("user = \"${UID}\"\ngroup = \"${GID}\"", "user = 1000\ngroup = 1000")], vec!["STK-NS-001"]),
        ("STK-NS-002", vec![("mount = true", "mount = false"), ("[filesystem]\nroot = \"tmpfs\"\n\n[[mount]]\ntype = \"bind\"\nsource = \"/usr\"\nread-only = true\n\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n", "")], vec!["STK-NS-002"]),
        ("STK-NS-003", vec![("pid = true", "pid = false")], vec!["STK-NS-003"]),
        ("STK-NS-004", vec![("ipc = true", "ipc = false")], vec!["STK-NS-004"]),
        ("STK-NS-005", vec![("uts = true", "uts = false")], vec!["STK-NS-005"]),
        ("STK-NS-006", vec![("cgroup = true", "cgroup = false")], vec!["STK-NS-006"]),
        // The kernel refuses seccomp and Landlock without no_new_privs or CAP_SYS_ADMIN.
        ("STK-PRIV-001", vec![("no-new-privs = true", "no-new-privs = false\nkeep = [\"CAP_SYS_ADMIN\"]")], vec!["STK-CAP-001", "STK-PRIV-001"]),
        ("STK-PRIV-002", vec![("user = true", "user = false"), ("user = \"${UID}\"\ngroup = \"${GID}\"", "user = 0\ngroup = 0")], vec!["STK-PRIV-002"]),
        ("STK-RL-001", vec![("core = 0\n", "nofile = 1024\n")], vec!["STK-RL-001"]),
        ("STK-SC-001", vec![("[seccomp]", "[seccomp]\nenabled = false")], vec!["STK-SC-001"]),
        ("STK-SC-002", vec![("default-action = \"errno:ENOSYS\"\nallow = [\"read\", \"write\", \"exit_group\"]", "preset = \"default\"\ndefault-action = \"allow\"")], vec!["STK-SC-002"]),
        ("STK-SC-003", vec![("\"exit_group\"]", "\"exit_group\", \"ptrace\"]")], vec!["STK-SC-003"]),
        ("STK-SC-004", vec![("\"exit_group\"]", "\"exit_group\"]\narchitectures = [\"x86\"]")], vec!["STK-SC-004"]),
        ("STK-TTY-001", vec![("new-session = true", "new-session = false"), ("\"exit_group\"]", "\"exit_group\", \"ioctl\"]")], vec!["STK-TTY-001"]),
    ]
}

fn stockade(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::stockade_bin())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .output()
        .expect("run stockade")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn counted(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["counted"] == true)
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect()
}

fn apply(edits: &[(&str, &str)]) -> String {
    let mut text = CLEAN.to_owned();
    for (old, new) in edits {
        assert!(text.contains(old), "the clean profile has no `{old}`");
        text = text.replacen(old, new, 1);
    }
    text
}

#[test]
fn the_clean_profile_scores_zero() {
    let dir = TempDir::new("audit-clean");
    let p = dir.profile("clean.toml", CLEAN);
    let out = stockade(
        dir.path(),
        &["audit", "--format", "json", &p.to_string_lossy()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["profiles"][0]["score"], 0, "{v:#}");
    assert!(counted(&v["profiles"][0]).is_empty());
}

#[test]
fn each_finding_id_has_a_golden_profile_triggering_exactly_it() {
    let dir = TempDir::new("audit-golden");
    std::fs::create_dir_all(dir.join("home")).expect("home");
    let cases = cases();
    // Every id of the catalogue has its case.
    let listed = stockade(dir.path(), &["audit", "--list"]);
    let ids: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let covered: BTreeSet<String> = cases.iter().map(|(id, ..)| (*id).to_owned()).collect();
    assert_eq!(
        ids, covered,
        "catalogue ids without a golden case (or the reverse)"
    );
    let mut paths = Vec::new();
    for (id, edits, _) in &cases {
        let name = format!("{}.toml", id.to_lowercase());
        paths.push(
            dir.profile(&name, &apply(edits))
                .to_string_lossy()
                .into_owned(),
        );
    }
    let mut args = vec!["audit", "--format", "json", "--today", "2026-06-01"];
    args.extend(paths.iter().map(String::as_str));
    let out = stockade(dir.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let reports = v["profiles"].as_array().expect("profiles");
    assert_eq!(reports.len(), cases.len());
    for ((id, _, expected), report) in cases.iter().zip(reports) {
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(counted(report), want, "{id}: {report:#}");
        // The finding points at a line of the profile that exists.
        let f = report["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["id"] == *id))
            .expect("the finding");
        let line = f["location"]["line"].as_u64().expect("a line");
        assert!(line >= 1, "{id}");
        assert!(
            f["location"]["file"]
                .as_str()
                .is_some_and(|n| n.ends_with(".toml")),
            "{id}"
        );
        let sum: u64 = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["counted"] == true)
            .filter_map(|f| f["weight"].as_u64())
            .sum();
        assert_eq!(report["score"].as_u64(), Some(sum), "{id}");
    }
}

/// The repository root (where `profiles/` lives).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Audit in the repository with a fixed $HOME, so `${HOME}`/`${PWD}` paths and scores do
/// not depend on who runs the suite.
fn audit_repo(args: &[&str]) -> Output {
    Command::new(common::stockade_bin())
        .arg("audit")
        .args(args)
        .current_dir(repo())
        .env("HOME", "/home/auditor")
        .output()
        .expect("run stockade")
}

/// Scores of every shipped profile and built-in; README.md shows the same table.
/// One row per audit report: a phased profile is audited phase by phase.
const SHIPPED: &[(&str, u64)] = &[
    ("builtin:minimal", 42),
    ("builtin:strict", 10),
    ("profiles/busybox-container.toml", 44),
    ("profiles/busybox-pidns.toml", 71),
    ("profiles/cargo-build.toml", 20),
    ("profiles/cargo-fetch-build.toml (phase fetch)", 10),
    ("profiles/cargo-fetch-build.toml (phase build)", 10),
    ("profiles/git-clone.toml", 6),
    ("profiles/notify-daemon.toml", 13),
    ("profiles/npm-ci.toml", 21),
    ("profiles/npm-fetch-build.toml (phase fetch)", 10),
    ("profiles/npm-fetch-build.toml (phase build)", 10),
    ("profiles/pip-fetch-build.toml (phase fetch)", 6),
    ("profiles/pip-fetch-build.toml (phase build)", 6),
    ("profiles/web-static-socket.toml", 3),
    ("profiles/web-static.toml", 18),
];

#[test]
fn shipped_profiles_have_their_expected_scores_and_the_readme_shows_them() {
    let mut names: Vec<String> = vec!["builtin:minimal".into(), "builtin:strict".into()];
    let mut files: Vec<String> = std::fs::read_dir(repo().join("profiles"))
        .expect("profiles/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("profiles/{n}"))
        .collect();
    files.sort();
    names.extend(files);
    let mut listed: Vec<&str> = SHIPPED
        .iter()
        .map(|(n, _)| n.split(" (phase ").next().unwrap_or(n))
        .collect();
    listed.dedup();
    assert_eq!(names, listed, "a shipped profile without an expected score");
    let mut args = vec!["--format", "json"];
    args.extend(names.iter().map(String::as_str));
    let out = audit_repo(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let reports = v["profiles"].as_array().expect("list");
    assert_eq!(reports.len(), SHIPPED.len(), "{v:#}");
    for ((name, score), report) in SHIPPED.iter().zip(reports) {
        assert_eq!(report["profile"], *name);
        assert_eq!(report["score"].as_u64(), Some(*score), "{name}: {report:#}");
        let row = format!("| `{name}` | {score} |");
        assert!(readme.contains(&row), "README.md lacks the row `{row}`");
    }
}

#[test]
fn moot_findings_are_shown_but_not_counted() {
    let dir = TempDir::new("audit-moot");
    // No new session, but the filter refuses ioctl altogether (so TIOCSTI too); the TCP
    // port lists are absent, but the sandbox has its own network namespace.
    let text = apply(&[
        ("new-session = true", "new-session = false"),
        ("connect-tcp = []\nbind-tcp = []\n", ""),
    ]);
    let p = dir.profile("moot.toml", &text);
    let out = stockade(
        dir.path(),
        &["audit", "--format", "json", &p.to_string_lossy()],
    );
    let v = json_of(&out);
    let r = &v["profiles"][0];
    assert_eq!(r["score"], 0, "{r:#}");
    for id in ["STK-TTY-001", "STK-NET-002", "STK-NET-003"] {
        let f = r["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["id"] == id))
            .unwrap_or_else(|| panic!("{id} not listed: {r:#}"));
        assert_eq!(f["counted"], false, "{id}");
        assert!(f["moot"].as_str().is_some_and(|m| !m.is_empty()), "{id}");
    }
}

fn suppressed_profile(dir: &TempDir, until: &str) -> String {
    let text = apply(&[
        ("pids = 64\n", ""),
        (
            "[capabilities]",
            &format!(
                "[[audit.suppress]]\nid = \"STK-CG-001\"\nreason = \"the build forks a lot\"\n{until}\n[capabilities]"
            ),
        ),
    ]);
    dir.profile("suppressed.toml", &text)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn suppressions_hold_until_their_date_then_count_again_with_a_finding() {
    let dir = TempDir::new("audit-suppress");
    let p = suppressed_profile(&dir, "until = \"2027-01-31\"");
    let before = json_of(&stockade(
        dir.path(),
        &["audit", "--format", "json", "--today", "2027-01-31", &p],
    ));
    let r = &before["profiles"][0];
    assert_eq!(r["score"], 0, "{r:#}");
    let f = &r["findings"][0];
    assert_eq!(
        (f["id"].as_str(), f["counted"].as_bool()),
        (Some("STK-CG-001"), Some(false))
    );
    assert_eq!(f["suppressed"], "the build forks a lot");
    let after = json_of(&stockade(
        dir.path(),
        &["audit", "--format", "json", "--today", "2027-02-01", &p],
    ));
    let want: BTreeSet<String> = ["STK-CG-001", "STK-AUD-001"].map(String::from).into();
    assert_eq!(counted(&after["profiles"][0]), want);
    // The expired suppression points at its `until` line (line 1 is `version = 1`).
    let aud = after["profiles"][0]["findings"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["id"] == "STK-AUD-001"))
        .expect("STK-AUD-001");
    let line = aud["location"]["line"].as_u64().expect("line") as usize;
    let text = std::fs::read_to_string(&p).expect("profile");
    assert!(
        text.lines()
            .nth(line - 1)
            .is_some_and(|l| l.starts_with("until")),
        "line {line}"
    );
}

#[test]
fn bad_suppressions_and_bad_profiles_exit_2_naming_the_place() {
    let dir = TempDir::new("audit-bad");
    for (until, needle) in [
        ("until = \"2027-02-30\"", "is not a date"),
        ("until = \"soon\"", "is not a date"),
    ] {
        let p = suppressed_profile(&dir, until);
        let out = stockade(dir.path(), &["audit", &p]);
        assert_eq!(out.status.code(), Some(2), "{until}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("suppressed.toml:"),
            "{err}"
        );
    }
    let unknown = CLEAN.replace(
        "[capabilities]",
        "[[audit.suppress]]\nid = \"STK-NS-01\"\nreason = \"x\"\n\n[capabilities]",
    );
    let p = dir.profile("unknown.toml", &unknown);
    let out = stockade(dir.path(), &["audit", &p.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown finding id `STK-NS-01`"));
    for (name, body) in [
        (
            "noreason.toml",
            CLEAN.replace(
                "[capabilities]",
                "[[audit.suppress]]\nid = \"STK-NS-001\"\n\n[capabilities]",
            ),
        ),
        (
            "emptyreason.toml",
            CLEAN.replace(
                "[capabilities]",
                "[[audit.suppress]]\nid = \"STK-NS-001\"\nreason = \" \"\n\n[capabilities]",
            ),
        ),
        ("broken.toml", "[namespaces\n".to_owned()),
        ("badkey.toml", "[network]\nmode = \"hosted\"\n".to_owned()),
    ] {
        let p = dir.profile(name, &body);
        let out = stockade(dir.path(), &["audit", &p.to_string_lossy()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(name),
            "{name}"
        );
    }
}

#[test]
fn fail_on_threshold_and_baseline_gate_the_exit_status() {
    let dir = TempDir::new("audit-gate");
    let net = dir.profile(
        "net.toml",
        &apply(&[("mode = \"none\"", "mode = \"host\"")]),
    );
    let net = net.to_string_lossy().into_owned();
    let code = |args: &[&str]| stockade(dir.path(), args).status.code();
    assert_eq!(code(&["audit", &net]), Some(0));
    assert_eq!(code(&["audit", "--fail-on", "high", &net]), Some(1));
    assert_eq!(code(&["audit", "--fail-on", "critical", &net]), Some(0));
    assert_eq!(code(&["audit", "--threshold", "15", &net]), Some(0));
    assert_eq!(code(&["audit", "--threshold", "14", &net]), Some(1));
    // A baseline that already has the finding: nothing new, nothing fails.
    let base = stockade(dir.path(), &["audit", "--format", "json", &net]);
    std::fs::write(dir.join("base.json"), &base.stdout).expect("baseline");
    let b = dir.join("base.json").to_string_lossy().into_owned();
    assert_eq!(
        code(&[
            "audit",
            "--fail-on",
            "low",
            "--threshold",
            "0",
            "--baseline",
            &b,
            &net
        ]),
        Some(0)
    );
    // One regression (no pids limit any more): only it fails the run.
    std::fs::write(
        &net,
        std::fs::read_to_string(&net)
            .expect("p")
            .replace("pids = 64\n", ""),
    )
    .expect("w");
    let out = stockade(
        dir.path(),
        &["audit", "--fail-on", "low", "--baseline", &b, &net],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("STK-CG-001") && !err.contains("STK-NET-001"),
        "{err}"
    );
    // Something that is not a baseline.
    std::fs::write(dir.join("junk.json"), "{\"x\": 1}").expect("w");
    let j = dir.join("junk.json").to_string_lossy().into_owned();
    assert_eq!(code(&["audit", "--baseline", &j, &net]), Some(2));
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let dir = TempDir::new("audit-sarif");
    let p = suppressed_profile(&dir, "");
    let out = audit_repo(&[
        "--format",
        "sarif",
        "profiles/cargo-build.toml",
        "profiles/web-static.toml",
        "builtin:minimal",
        &p,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = json_of(&out);
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does reject a broken log (so the check above can fail).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
    let results = log["runs"][0]["results"].as_array().expect("results");
    // Regions point at TOML lines; URIs are relative to the repository root.
    let r = results
        .iter()
        .find(|r| {
            r["properties"]["profile"] == "profiles/web-static.toml" && r["ruleId"] == "STK-NET-001"
        })
        .expect("web-static's host network");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "profiles/web-static.toml");
    let line = loc["region"]["startLine"].as_u64().expect("line") as usize;
    let text =
        std::fs::read_to_string(repo().join("profiles/web-static.toml")).expect("web-static");
    assert!(
        text.lines()
            .nth(line - 1)
            .is_some_and(|l| l.contains("mode")),
        "line {line}"
    );
    // The suppressed finding carries its justification.
    assert!(results.iter().any(|r| r["ruleId"] == "STK-CG-001"
        && r["suppressions"][0]["justification"] == "the build forks a lot"));
}
