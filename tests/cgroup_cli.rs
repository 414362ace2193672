//! `[resources]` through the built binary: real sandboxes with limits, the exit message and
//! the run report's `cgroup` section, cleanup after 100 runs with killed supervisors, and
//! the refusal (or best-effort run) without a delegated cgroup.
//!
//! The payload is this test binary (see `cgroup_support`), bound read-only at /cgt.

mod cgroup_support;
mod common;

use cgroup_support::{ENTRY_ARGS, PAYLOAD_ENV};
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stockade::cgroup::fs::{CgroupFs, HostFs};
use stockade::cgroup::gc::LeafName;

/// A sandbox running the payload `mode` under `resources` (TOML lines of [resources]).
fn profile(dir: &TempDir, name: &str, mode: &str, resources: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    dir.profile(
        name,
        &format!(
            "[process]\ncwd = \"/\"\n\n[env]\nset = {{ {PAYLOAD_ENV} = \"{mode}\" }}\n\n\
             [namespaces]\nuser = true\nmount = true\npid = true\n{}\n\
             [[mount]]\ntype = \"proc\"\n\n\
             [[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/cgt\"\nread-only = true\n\n\
             [resources]\n{resources}\n",
            runtime_mounts(),
            exe.parent().unwrap().display()
        ),
    )
}

/// The payload's command line inside the sandbox.
fn payload_argv() -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let mut v = vec![format!("/cgt/{name}")];
    v.extend(ENTRY_ARGS.iter().map(|s| s.to_string()));
    v
}

/// `stockade run --report R PROFILE -- payload`; returns the output and the report.
fn run(dir: &TempDir, profile: &Path) -> (std::process::Output, Value) {
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let mut args: Vec<String> = vec![
        "run".into(),
        "--report".into(),
        report.display().to_string(),
        profile.display().to_string(),
        "--".into(),
    ];
    args.extend(payload_argv());
    let out = TestCommand::new(&args).output();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): status {:?}\nstderr: {}",
            out.status,
            stderr(&out)
        )
    });
    (out, serde_json::from_str(&text).unwrap())
}

/// Skip unless this host and user can enforce cgroup limits (root or a delegated cgroup).
fn need_cgroups() -> bool {
    if need_sandbox() {
        return true;
    }
    let layout = stockade::cgroup::detect();
    let writable = match layout.version() {
        Some(2) => layout.unified.as_ref().is_some_and(|u| u.writable),
        Some(_) => ["memory", "pids", "cpu"]
            .iter()
            .all(|c| layout.v1_hierarchy(c).is_some_and(|h| h.writable)),
        None => false,
    };
    if !writable {
        return skip(&format!("no writable cgroup here: {}", layout.describe()));
    }
    false
}

#[test]
fn oom_kill_is_named_in_the_message_and_the_report() {
    if need_cgroups() {
        return;
    }
    let dir = TempDir::new("cg-oom");
    let p = profile(&dir, "oom.toml", "alloc", "memory = \"100MiB\"");
    let (out, rep) = run(&dir, &p);
    let err = stderr(&out);
    // stockade dies of the payload's SIGKILL, as the payload did.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(libc::SIGKILL),
        "{err}"
    );
    assert!(
        err.contains("payload killed by the kernel OOM killer (memory limit 100 MiB)"),
        "{err}"
    );
    let enforced = rep["enforced"].as_array().expect("enforced");
    for step in ["create cgroup", "enter cgroup"] {
        assert!(enforced.iter().any(|e| e == step), "{enforced:?}");
    }
    let cg = &rep["cgroup"];
    assert_eq!(cg["oom_killed"], true, "{rep:#}");
    assert_eq!(
        cg["message"],
        "payload killed by the kernel OOM killer (memory limit 100 MiB)"
    );
    let peak = cg["memory_peak"].as_u64().expect("memory_peak");
    assert!(peak <= 100 << 20 && peak > 50 << 20, "peak {peak}");
}

#[test]
fn fork_bomb_stops_at_the_pids_limit() {
    if need_cgroups() {
        return;
    }
    let dir = TempDir::new("cg-pids");
    let p = profile(&dir, "pids.toml", "forkbomb", "pids = 64");
    let (out, rep) = run(&dir, &p);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let forked: u64 = cgroup_support::result_of(&stdout)
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no result: {stdout}"));
    // init and the payload count against the limit too.
    assert!(forked > 0 && forked < 64, "forked {forked} under pids = 64");
    assert_eq!(rep["cgroup"]["pids_limit_hit"], true, "{rep:#}");
    assert!(err.contains("hit its pids limit (64 processes)"), "{err}");
    // The host is unaffected, and the sleepers died with the sandbox.
    assert!(std::process::Command::new("true")
        .status()
        .unwrap()
        .success());
}

#[test]
fn cpu_half_a_core_measured_from_the_cgroup() {
    if need_cgroups() {
        return;
    }
    let dir = TempDir::new("cg-cpu");
    // Highest weight: the measurement is about the quota, not about a busy shared host.
    let p = profile(&dir, "cpu.toml", "spin", "cpu = 0.5\ncpu-weight = 10000");
    let (out, rep) = run(&dir, &p);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let used = rep["cgroup"]["cpu_usage_us"]
        .as_f64()
        .expect("cpu_usage_us");
    let wall = rep["durations"]["payload_ms"].as_f64().expect("payload_ms") * 1000.0;
    let cores = used / wall;
    eprintln!("cpu = 0.5: {used} us CPU over {wall} us: {cores:.2} cores");
    assert!((0.3..=0.7).contains(&cores), "{cores:.2} cores; {rep:#}");
    assert!(rep["cgroup"]["throttled_periods"].as_u64().unwrap_or(0) > 0);
}

/// Leaf directories (stockade-*) below the caller's cgroups, with their owner pid.
fn leaves() -> Vec<(PathBuf, LeafName)> {
    let layout = stockade::cgroup::detect();
    let bases: Vec<PathBuf> = match (&layout.unified, layout.version()) {
        (Some(u), Some(2)) => vec![u.base.clone()],
        _ => layout.v1.iter().map(|h| h.base.clone()).collect(),
    };
    let mut out = Vec::new();
    for b in bases {
        for name in HostFs.subdirs(&b).unwrap_or_default() {
            if let Some(l) = LeafName::parse(&name) {
                out.push((b.join(name), l));
            }
        }
    }
    out
}

#[test]
fn no_cgroup_left_after_100_runs_with_killed_supervisors() {
    if need_cgroups() {
        return;
    }
    let dir = TempDir::new("cg-gc");
    let quick = dir.profile(
        "quick.toml",
        &format!(
            "[process]\ncwd = \"/\"\n[namespaces]\nuser = true\nmount = true\npid = true\n{}\n\
             [resources]\npids = 32\nmemory = \"64MiB\"\n",
            runtime_mounts()
        ),
    );
    let mut supervisors = Vec::new();
    let mut all_runs = Vec::new();
    for i in 0..100 {
        if i % 4 == 0 {
            // A supervisor SIGKILLed while its payload runs: it never removes its leaf.
            let mut child =
                TestCommand::run(&quick, &["sh", "-c", "echo ready; exec sleep 1000"]).spawn();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "ready", "run {i}");
            // The leaf carries the supervisor's pid (what gc checks, and what the final
            // assertion looks for).
            assert!(
                leaves().iter().any(|(_, l)| l.pid == child.id()),
                "run {i}: no leaf named after supervisor {}",
                child.id()
            );
            supervisors.push(child.id());
            child.kill().unwrap();
            child.wait().unwrap();
        } else {
            let child = TestCommand::run(&quick, &["true"]).spawn();
            all_runs.push(child.id());
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "run {i}: {}", stderr(&out));
        }
    }
    // The sandboxes of killed supervisors die with them (die-with-parent); wait for that,
    // then one more run collects their leaves.
    let deadline = Instant::now() + Duration::from_secs(60);
    while leaves().iter().any(|(p, l)| {
        supervisors.contains(&l.pid)
            && !std::fs::read_to_string(p.join("cgroup.procs"))
                .unwrap_or_default()
                .trim()
                .is_empty()
    }) {
        assert!(
            Instant::now() < deadline,
            "payloads outlived their supervisors"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let child = TestCommand::run(&quick, &["true"]).spawn();
    all_runs.push(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Only our own runs count: on a shared host other people's sandboxes come and go.
    let left: Vec<_> = leaves()
        .into_iter()
        .filter(|(_, l)| supervisors.contains(&l.pid) || all_runs.contains(&l.pid))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Without a delegated cgroup (the unprivileged test user): `required` refuses before
/// starting and says how to get delegation; `best-effort` runs and the report lists what
/// was not enforced.
#[test]
fn unprivileged_without_delegation_via_the_cli() {
    if need_sandbox() {
        return;
    }
    let Some((uid, gid)) = need_user() else {
        return;
    };
    let dir = TempDir::new("cg-nodeleg");
    let required = dir.profile(
        "req.toml",
        &format!(
            "[process]\ncwd = \"/\"\n[namespaces]\nuser = true\nmount = true\n{}\n\
             [resources]\nmemory = \"64MiB\"\n",
            runtime_mounts()
        ),
    );
    let out = TestCommand::run(&required, &["true"])
        .with_user(uid, gid)
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("resources.memory"), "{err}");
    assert!(
        err.contains("systemd-run --user --scope -p Delegate=yes stockade run"),
        "{err}"
    );
    let best = dir.profile(
        "best.toml",
        &format!(
            "[process]\ncwd = \"/\"\n[namespaces]\nuser = true\nmount = true\n{}\n\
             [resources]\ncompat = \"best-effort\"\nmemory = \"64MiB\"\n",
            runtime_mounts()
        ),
    );
    let report = dir.join("best.json");
    dir.chown(uid, gid);
    let out = TestCommand::new([
        "run".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
        best.as_os_str(),
        "--".as_ref(),
        "true".as_ref(),
    ])
    .with_user(uid, gid)
    .output();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("stockade: warning: not enforced (best-effort): resources.memory: "),
        "{err}"
    );
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let enforced = rep["enforced"].as_array().expect("enforced");
    for step in ["create cgroup", "enter cgroup"] {
        assert!(
            !enforced.iter().any(|e| e == step),
            "nothing was enforced, yet: {enforced:?}"
        );
    }
    let skipped = rep["skipped"].to_string();
    assert!(skipped.contains("resources.memory"), "{rep:#}");
    assert_eq!(rep["cgroup"]["version"], Value::Null, "{rep:#}");
}

/// Not a test: the payloads, selected by `STOCKADE_CG_PAYLOAD` (see `cgroup_support`).
#[test]
fn payload_entry() {
    if let Ok(mode) = std::env::var(PAYLOAD_ENV) {
        cgroup_support::run_payload(&mode);
    }
}
