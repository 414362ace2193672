//! `stockade doctor`: its host facts checked against the host from outside, its
//! predictions checked against real runs (a key it says cannot be enforced fails the run,
//! a key it says runs degraded is listed as not enforced in the run report), as root and as
//! the unprivileged test user, and a masked /proc detected before a run trips over it.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output};

fn doctor_json(mut t: TestCommand) -> (Output, Value) {
    t.command().args(["--format", "json"]);
    let out = t.output();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (out, v)
}

/// The keys of `profile`'s needs with the given verdict.
fn keys(v: &Value, profile: usize, verdict: &str) -> BTreeSet<String> {
    v["profiles"][profile]["needs"]
        .as_array()
        .expect("needs")
        .iter()
        .filter(|n| n["verdict"] == verdict)
        .map(|n| n["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether a command succeeds (run as `who`, when given).
fn succeeds(argv: &[&str], who: Option<(u32, u32)>) -> bool {
    let mut c = Command::new("setpriv");
    if let Some((uid, gid)) = who {
        c.args([
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".into(),
        ]);
    }
    c.arg("--").args(argv);
    c.status().is_ok_and(|s| s.success())
}

/// The host part of the report agrees with the host as other tools see it.
fn check_host_facts(v: &Value, who: Option<(u32, u32)>) {
    let h = &v["host"];
    let actions =
        std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    let want: Vec<&str> = actions.split_whitespace().collect();
    assert_eq!(h["seccomp_actions"], serde_json::json!(want));
    // util-linux's unshare, side by side with doctor's own probes.
    let userns = succeeds(&["unshare", "--user", "--map-root-user", "true"], who);
    assert_eq!(h["user_namespaces"]["probe"]["works"], userns, "{h:#}");
    let timens = succeeds(
        &["unshare", "--user", "--map-root-user", "--time", "true"],
        who,
    );
    assert_eq!(h["time_namespaces"]["works"], timens, "{h:#}");
    let procmount = succeeds(
        &[
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "--pid",
            "--fork",
            "--mount-proc",
            "true",
        ],
        who,
    );
    assert_eq!(h["proc_mount"]["probe"]["works"], procmount, "{h:#}");
    let uid = who.map_or(0, |(u, _)| u);
    assert_eq!(h["uid"], uid);
    assert_eq!(h["nesting"]["no_new_privs"], false);
}

#[test]
fn doctor_reports_the_host_as_root_and_its_predictions_hold() {
    if need_root() {
        return;
    }
    let (out, v) = doctor_json(TestCommand::new([
        "doctor",
        "builtin:strict",
        "builtin:minimal",
    ]));
    check_host_facts(&v, None);
    // Pure cgroup v2 exactly when /sys/fs/cgroup is the cgroup2 root.
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(v["host"]["cgroup"]["kind"] == "unified", unified, "{v:#}");
    // Root on this host: both built-ins run, so doctor exits 0 and a real run agrees.
    let fails = keys(&v, 0, "fails");
    assert_eq!(
        out.status.code(),
        Some(i32::from(!fails.is_empty())),
        "{v:#}"
    );
    let run = TestCommand::new(["run", "builtin:strict", "--", "true"]).output();
    assert_eq!(
        run.status.success(),
        fails.is_empty(),
        "{}\n{v:#}",
        stderr(&run)
    );
    // The text form names every section a reader looks for.
    let text = TestCommand::new(["doctor"]).output();
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for word in [
        "user namespaces",
        "newuidmap",
        "cgroup",
        "Landlock ABI",
        "seccomp actions",
        "time namespaces",
        "proc mount",
        "systemd",
        "pasta",
        "nesting",
    ] {
        assert!(text.contains(word), "no {word:?} in:\n{text}");
    }
}

#[test]
fn doctor_as_the_test_user_predicts_what_the_run_report_says() {
    let Some((uid, gid)) = need_user() else {
        return;
    };
    let (_, v) = doctor_json(TestCommand::new(["doctor", "builtin:strict"]).with_user(uid, gid));
    check_host_facts(&v, Some((uid, gid)));
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let want: Vec<String> = subuid
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{TEST_USER}:")))
        .map(|r| r.to_string())
        .collect();
    assert_eq!(v["host"]["id_helpers"]["subuid"], serde_json::json!(want));
    // What doctor calls degraded is exactly what a real run reports as not enforced.
    let degraded = keys(&v, 0, "degraded");
    let dir = TempDir::new("doctor-user");
    dir.chown(uid, gid);
    let report = dir.join("report.json");
    let run = TestCommand::new([
        "run",
        "--report",
        report.to_str().unwrap_or_default(),
        "builtin:strict",
        "--",
        "true",
    ])
    .with_user(uid, gid)
    .current_dir(dir.path())
    .output();
    assert!(run.status.success(), "{}", stderr(&run));
    let r: Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap_or_default()).unwrap_or_default();
    let not_enforced: BTreeSet<String> = r["cgroup"]["not_enforced"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str()?.split(':').next().map(str::to_string))
        .collect();
    assert_eq!(degraded, not_enforced, "doctor: {v:#}\nreport: {r:#}");
}

#[test]
fn doctor_names_a_limit_above_the_callers_hard_limit_and_the_run_fails_too() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("doctor-rlimit");
    let p = dir.profile(
        "nofile.toml",
        "extends = [\"builtin:minimal\"]\n[rlimits]\nnofile = { soft = 1024, hard = 8192 }\n",
    );
    let low = |args: &[&str]| {
        // prlimit(1) runs stockade under a lower hard limit.
        let mut c = Command::new("prlimit");
        c.args(["--nofile=1024:4096", "--"])
            .arg(stockade_bin())
            .args(args);
        c.output().expect("prlimit")
    };
    let out = low(&["doctor", "--format", "json", p.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    // Named as a failing key, or (once compile checks limits itself) as a compile error
    // naming the key.
    let named = keys(&v, 0, "fails").contains("rlimits.nofile")
        || (v["profiles"][0]["error"].is_string() && stderr(&out).contains("nofile"));
    assert!(named, "{v:#}\n{}", stderr(&out));
    let run = low(&["run", p.to_str().unwrap_or_default(), "--", "true"]);
    assert_eq!(run.status.code(), Some(125), "{}", stderr(&run));
    // Without the low limit both agree it runs.
    let (ok, v) = doctor_json(TestCommand::new(["doctor".as_ref(), p.as_os_str()]));
    assert_eq!(ok.status.code(), Some(0), "{v:#}");
}

#[test]
fn doctor_detects_a_masked_proc_before_a_run_fails_on_it() {
    if need_root() {
        return;
    }
    // A container's masked /proc, reproduced: a private mount namespace with a tmpfs over a
    // directory below /proc (podman and docker mask /proc/acpi, /proc/scsi, ... this way).
    let script = format!(
        "mount --make-rprivate / && mount -t tmpfs -o ro none /proc/fs && \
         {bin} doctor --format json builtin:minimal > doctor.json; echo $? > doctor.rc; \
         {bin} run builtin:minimal -- true 2> run.err; echo $? > run.rc",
        bin = stockade_bin().display()
    );
    let dir = TempDir::new("doctor-masked");
    let status = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .current_dir(dir.path())
        .status()
        .expect("unshare");
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let v: Value = serde_json::from_str(&read("doctor.json")).unwrap_or_default();
    assert_eq!(read("doctor.rc").trim(), "1", "{v:#}");
    assert_eq!(v["host"]["proc_mount"]["probe"]["works"], false, "{v:#}");
    assert!(
        !v["host"]["proc_mount"]["overmounted"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{v:#}"
    );
    assert!(
        keys(&v, 0, "fails").iter().any(|k| k.contains("proc")),
        "{v:#}"
    );
    let need = &v["profiles"][0]["needs"];
    assert!(need.to_string().contains("unmask=/proc/*"), "{need:#}");
    // And the run really fails there.
    assert_eq!(read("run.rc").trim(), "125", "{}", read("run.err"));
    assert!(
        read("run.err").contains("unmask=/proc/*"),
        "{}",
        read("run.err")
    );
}

#[test]
fn doctor_of_a_broken_profile_fails_with_its_diagnostics() {
    let out = TestCommand::new(["doctor", "tests/fixtures/bad/unknown-key-nested.toml"]).output();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown field"), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not load"));
}
