//! The launch-path shortcuts: the v1 self-join (the child writes `0` into each leaf's
//! `tasks`), the scope of garbage collection, and cleanup of an already empty cgroup.

use super::super::detect::{UnifiedInfo, V1Hierarchy};
use super::super::limits;
use super::super::v1::{ACCOUNTING, LEAF_CONTROLLERS};
use super::testfs::{TempDir, TempFs};
use super::*;

fn link_of(fd: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap()
}

#[test]
fn v1_self_join_opens_tasks_of_every_leaf_and_enter_writes_zero() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(8);
    p.memory_max = Some(64 << 20);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    let join = cg.self_join().expect("v1 leaves have tasks files");
    let opened: Vec<PathBuf> = join.fds().map(link_of).collect();
    let expected: Vec<PathBuf> = cg.paths().iter().map(|l| l.join("tasks")).collect();
    assert_eq!(opened.len(), 3);
    assert_eq!(opened, expected);
    join.enter().unwrap();
    // "0": the writer itself (the kernel's one lock-free case), never a pid.
    for t in &expected {
        assert_eq!(std::fs::read_to_string(t).unwrap(), "0");
    }
    cg.destroy().unwrap();
}

#[test]
fn v1_without_a_tasks_file_falls_back_to_the_parent_attach() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(8);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    std::fs::remove_file(cg.paths()[0].join("tasks")).unwrap();
    assert!(cg.self_join().is_none());
}

#[test]
fn v2_and_inert_cgroups_have_no_self_join() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "pids", true);
    let mut p = plan();
    p.pids_max = Some(8);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    // v2: clone3(CLONE_INTO_CGROUP) places the child.
    assert!(cg.self_join().is_none());
    assert!(cg.clone_into_fd().is_some());

    let tmp = TempDir::new();
    let mut layout = v1_host(&tmp);
    for h in &mut layout.v1 {
        h.writable = false;
    }
    let mut p = plan();
    p.compat = Compat::BestEffort;
    p.pids_max = Some(8);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    assert!(cg.is_inert());
    assert!(cg.self_join().is_none());
}

#[test]
fn every_v1_leaf_controller_is_in_the_gc_scope() {
    let mut p = plan();
    p.memory_max = Some(1 << 30);
    p.memory_swap_max = Some(0);
    p.cpu_quota_us = Some(1);
    p.cpu_weight = Some(1);
    p.pids_max = Some(1);
    p.cpuset_cpus = Some("0".into());
    p.cpuset_mems = Some("0".into());
    let (knobs, _) = limits::v1_knobs(&p, true);
    assert!(knobs.len() >= 7);
    for c in knobs
        .iter()
        .map(|k| k.controller)
        .chain(ACCOUNTING.iter().copied())
    {
        assert!(LEAF_CONTROLLERS.contains(&c), "{c}");
    }
}

#[test]
fn gc_looks_only_where_leaves_can_be() {
    let tmp = TempDir::new();
    let mut layout = v1_host(&tmp);
    // A hierarchy stockade never creates leaves in, and a controller-less cgroup2.
    tmp.file("blkio/caller/cgroup.procs", "");
    layout.v1.push(V1Hierarchy {
        controllers: vec!["blkio".into()],
        mount: tmp.path().join("blkio"),
        own_path: "/caller".into(),
        base: tmp.path().join("blkio/caller"),
        writable: true,
    });
    tmp.file("unified/cgroup.procs", "");
    layout.unified = Some(UnifiedInfo {
        mount: tmp.path().join("unified"),
        own_path: "/".into(),
        base: tmp.path().join("unified"),
        controllers: Vec::new(),
        writable: true,
    });
    for dir in ["pids/caller", "blkio/caller", "unified"] {
        tmp.file(&format!("{dir}/stockade-1-100-0/cgroup.procs"), "");
    }
    let fs = TempFs::new(&tmp);
    assert_eq!(collect_garbage(&fs, &layout), 1);
    assert!(tmp.subdirs("pids/caller").is_empty());
    assert_eq!(tmp.subdirs("blkio/caller"), ["stockade-1-100-0"]);
    assert_eq!(tmp.subdirs("unified"), ["stockade-1-100-0"]);
}

#[test]
fn destroy_of_an_empty_cgroup_only_removes_it() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "pids", true);
    let mut p = plan();
    p.pids_max = Some(8);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    tmp.file("cg/svc/stockade-4242-777-0/cgroup.kill", "");
    let before = log.writes().len();
    cg.destroy().unwrap();
    assert!(!tmp.path().join("cg/svc/stockade-4242-777-0").exists());
    // Nothing was left to kill: no cgroup.kill write, no signal.
    assert_eq!(log.writes().len(), before);
    assert!(log.kills().is_empty());
}

#[test]
fn destroy_kills_only_what_rmdir_refused_and_removes_every_leaf() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(8);
    p.memory_max = Some(64 << 20);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    // A process left in every hierarchy (as the kernel lists it in each).
    for c in ["pids", "memory", "cpuacct"] {
        tmp.file(
            &format!("{c}/caller/stockade-4242-777-0/cgroup.procs"),
            "9001\n",
        );
    }
    cg.destroy().unwrap();
    assert_eq!(log.kills(), [9001]);
    for c in ["pids", "memory", "cpuacct"] {
        assert!(tmp.subdirs(&format!("{c}/caller")).is_empty(), "{c}");
    }
}
