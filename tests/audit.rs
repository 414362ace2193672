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
fn cases() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, Vec<&'static str>)> {
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
    let out = stockade(dir.path(), &["audit", "--format", "json", &p.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
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
    assert_eq!(ids, covered, "catalogue ids without a golden case (or the reverse)");
    let mut paths = Vec::new();
    for (id, edits, _) in &cases {
        let name = format!("{}.toml", id.to_lowercase());
        paths.push(dir.profile(&name, &apply(edits)).to_string_lossy().into_owned());
    }
    let mut args = vec!["audit", "--format", "json", "--today", "2026-06-01"];
    args.extend(paths.iter().map(String::as_str));
    let out = stockade(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
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
        assert!(f["location"]["file"].as_str().is_some_and(|n| n.ends_with(".toml")), "{id}");
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
