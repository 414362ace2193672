//! Unit tests of every cgroup write, against a temp directory standing in for cgroupfs.

mod join_tests;
mod testfs;

use super::detect::{detect_with, CgroupLayout, LayoutKind, UnifiedInfo, V1Hierarchy};
use super::gc::LeafName;
use super::*;
use testfs::{Log, TempDir, TempFs};

/// A plan without limits (each test sets what it needs).
fn plan() -> ResourcePlan {
    super::limits::tests::plan()
}

const NAME: LeafName = LeafName {
    pid: 4242,
    start_ticks: 777,
    seq: 0,
};

/// A v2 host: mount at `<tmp>/cg`, caller in `<tmp>/cg/svc` holding `procs`.
fn v2_host(tmp: &TempDir, procs: &str, controllers: &str, writable: bool) -> CgroupLayout {
    let mount = tmp.path().join("cg");
    let base = mount.join("svc");
    tmp.file("cg/svc/cgroup.controllers", controllers);
    tmp.file("cg/svc/cgroup.subtree_control", "");
    tmp.file("cg/svc/cgroup.procs", procs);
    CgroupLayout {
        kind: LayoutKind::Unified,
        unified: Some(UnifiedInfo {
            mount,
            own_path: "/svc".into(),
            base,
            controllers: controllers.split_whitespace().map(String::from).collect(),
            writable,
        }),
        v1: Vec::new(),
    }
}

fn v1_host(tmp: &TempDir) -> CgroupLayout {
    let mut v1 = Vec::new();
    for c in ["memory", "cpu", "cpuacct", "pids", "cpuset"] {
        let mount = tmp.path().join(c);
        let base = mount.join("caller");
        tmp.file(&format!("{c}/caller/cgroup.procs"), "");
        v1.push(V1Hierarchy {
            controllers: vec![c.to_string()],
            mount,
            own_path: "/caller".into(),
            base,
            writable: true,
        });
    }
    tmp.file(
        "memory/caller/memory.memsw.limit_in_bytes",
        "9223372036854771712",
    );
    tmp.file("cpuset/cpuset.cpus", "0-1");
    tmp.file("cpuset/cpuset.mems", "0");
    tmp.file("cpuset/caller/cpuset.cpus", "");
    tmp.file("cpuset/caller/cpuset.mems", "");
    CgroupLayout {
        kind: LayoutKind::Hybrid,
        unified: None,
        v1,
    }
}

fn create(
    tmp: &TempDir,
    layout: &CgroupLayout,
    plan: &ResourcePlan,
) -> (Log, Result<(Cgroup, Vec<String>), CgroupError>) {
    let fs = TempFs::new(tmp);
    let log = fs.log();
    (log, Cgroup::create_with(Box::new(fs), layout, plan, NAME))
}

#[test]
fn v2_writes_limits_after_evacuating_the_caller() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "100\n200\n", "cpuset cpu io memory pids", true);
    let mut p = plan();
    p.memory_max = Some(100 << 20);
    p.memory_high = Some(90 << 20);
    p.memory_swap_max = Some(0);
    p.cpu_quota_us = Some(50_000);
    p.cpu_weight = Some(200);
    p.pids_max = Some(64);
    p.io_weight = Some(300);
    p.cpuset_cpus = Some("0".into());
    p.cpuset_mems = Some("0".into());
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert!(missing.is_empty());
    let leaf = "cg/svc/stockade-4242-777-0";
    assert_eq!(
        log.writes(),
        [
            // no-internal-processes: both processes move to the sibling leaf first...
            ("cg/svc/stockade-supervisor/cgroup.procs", "100"),
            ("cg/svc/stockade-supervisor/cgroup.procs", "200"),
            // ...then the controllers are enabled for the children...
            (
                "cg/svc/cgroup.subtree_control",
                "+cpu +cpuset +io +memory +pids"
            ),
            // ...then the leaf's limits.
            (&*format!("{leaf}/cpuset.cpus"), "0"),
            (&*format!("{leaf}/cpuset.mems"), "0"),
            (&*format!("{leaf}/memory.max"), "104857600"),
            (&*format!("{leaf}/memory.high"), "94371840"),
            (&*format!("{leaf}/memory.swap.max"), "0"),
            (&*format!("{leaf}/cpu.max"), "50000 100000"),
            (&*format!("{leaf}/cpu.weight"), "200"),
            (&*format!("{leaf}/pids.max"), "64"),
            (&*format!("{leaf}/io.weight"), "default 300"),
        ]
    );
    assert!(cg.clone_into_fd().is_some());
    cg.attach(555).unwrap();
    assert_eq!(
        log.writes().last().unwrap(),
        &(&*format!("{leaf}/cgroup.procs"), "555")
    );
    cg.destroy().unwrap();
    assert!(!tmp.path().join(leaf).exists());
    // The supervisor leaf stays: the supervisor (and the caller's other processes) live there.
    assert!(tmp.path().join("cg/svc/stockade-supervisor").exists());
}

#[test]
fn v2_skips_evacuation_when_empty_and_enabling_when_enabled() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "cpu memory pids", true);
    tmp.file("cg/svc/cgroup.subtree_control", "memory pids");
    let mut p = plan();
    p.pids_max = Some(10);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    assert_eq!(
        log.writes(),
        [("cg/svc/stockade-4242-777-0/pids.max", "10")]
    );
    assert!(!tmp.path().join("cg/svc/stockade-supervisor").exists());
    drop(cg);
    assert!(!tmp.path().join("cg/svc/stockade-4242-777-0").exists());
}

#[test]
fn v2_root_cgroup_is_exempt_from_the_internal_process_rule() {
    let tmp = TempDir::new();
    let mut layout = v2_host(&tmp, "", "memory pids", true);
    tmp.file("cg/cgroup.procs", "1\n");
    tmp.file("cg/cgroup.subtree_control", "");
    tmp.file("cg/cgroup.controllers", "memory pids");
    if let Some(u) = layout.unified.as_mut() {
        u.base = u.mount.clone();
    }
    let mut p = plan();
    p.memory_max = Some(1 << 30);
    let (log, res) = create(&tmp, &layout, &p);
    res.unwrap();
    assert_eq!(
        log.writes(),
        [
            ("cg/cgroup.subtree_control", "+memory"),
            // pids is enabled for the run report (pids-limit hits), best effort.
            ("cg/cgroup.subtree_control", "+pids"),
            ("cg/stockade-4242-777-0/memory.max", "1073741824"),
        ]
    );
}

#[test]
fn v2_required_without_delegation_fails_before_creating_anything() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "1", "memory pids", false);
    let mut p = plan();
    p.memory_max = Some(100 << 20);
    let (log, res) = create(&tmp, &layout, &p);
    let err = res.unwrap_err().to_string();
    assert!(err.contains("resources.memory"), "{err}");
    assert!(err.contains("not delegated"), "{err}");
    assert!(
        err.contains("systemd-run --user --scope -p Delegate=yes stockade run"),
        "{err}"
    );
    assert!(err.contains("best-effort"), "{err}");
    assert!(log.writes().is_empty());
    assert_eq!(tmp.subdirs("cg/svc"), Vec::<String>::new());
}

#[test]
fn v2_best_effort_lists_what_is_missing_and_runs() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "memory", true);
    let mut p = plan();
    p.compat = Compat::BestEffort;
    p.memory_max = Some(1 << 20);
    p.pids_max = Some(5);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].starts_with("resources.pids: the `pids` controller is not available"));
    assert_eq!(cg.outcome().not_enforced, missing);
    assert!(log
        .writes()
        .iter()
        .any(|w| *w == ("cg/svc/stockade-4242-777-0/memory.max", "1048576")));
}

#[test]
fn v2_best_effort_without_delegation_is_inert() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "memory", false);
    let mut p = plan();
    p.compat = Compat::BestEffort;
    p.memory_max = Some(1 << 20);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert_eq!(missing.len(), 1);
    assert!(cg.paths().is_empty());
    assert!(cg.clone_into_fd().is_none());
    cg.attach(1).unwrap();
    assert!(log.writes().is_empty());
    assert_eq!(cg.outcome().version, None);
}

#[test]
fn failed_limit_write_is_an_error_naming_the_key_and_removes_the_leaf() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "memory pids", true);
    let mut p = plan();
    p.pids_max = Some(0);
    let fs = TempFs::new(&tmp).failing("pids.max");
    let err = Cgroup::create_with(Box::new(fs), &layout, &p, NAME).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot set resources.pids: writing \"0\" to "),
        "{msg}"
    );
    assert!(!tmp.path().join("cg/svc/stockade-4242-777-0").exists());
}

#[test]
fn v1_writes_each_hierarchy_in_kernel_order() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.memory_max = Some(100 << 20);
    p.memory_swap_max = Some(0);
    p.cpu_quota_us = Some(50_000);
    p.cpu_weight = Some(100);
    p.pids_max = Some(64);
    p.cpuset_cpus = Some("1".into());
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert!(missing.is_empty());
    assert_eq!(
        log.writes(),
        [
            // cpuset: a v1 cpuset refuses tasks until cpus and mems are both set; mems
            // is inherited from the nearest ancestor that has one.
            ("cpuset/caller/stockade-4242-777-0/cpuset.mems", "0"),
            ("cpuset/caller/stockade-4242-777-0/cpuset.cpus", "1"),
            (
                "memory/caller/stockade-4242-777-0/memory.limit_in_bytes",
                "104857600"
            ),
            // memsw (memory+swap) after the memory limit: the kernel wants memsw >= limit.
            (
                "memory/caller/stockade-4242-777-0/memory.memsw.limit_in_bytes",
                "104857600"
            ),
            ("cpu/caller/stockade-4242-777-0/cpu.cfs_period_us", "100000"),
            ("cpu/caller/stockade-4242-777-0/cpu.cfs_quota_us", "50000"),
            ("cpu/caller/stockade-4242-777-0/cpu.shares", "1024"),
            ("pids/caller/stockade-4242-777-0/pids.max", "64"),
        ]
    );
    // Every hierarchy with a limit, plus cpuacct for CPU accounting.
    assert_eq!(cg.paths().len(), 5);
    let before = log.writes().len();
    cg.attach(31337).unwrap();
    let attached: Vec<_> = log.writes()[before..].iter().map(|w| w.0.clone()).collect();
    assert_eq!(attached.len(), 5);
    assert!(attached
        .iter()
        .all(|p| p.ends_with("stockade-4242-777-0/cgroup.procs")));
    cg.destroy().unwrap();
    for c in ["memory", "cpu", "cpuacct", "pids", "cpuset"] {
        assert_eq!(
            tmp.subdirs(&format!("{c}/caller")),
            Vec::<String>::new(),
            "{c}"
        );
    }
}

#[test]
fn v1_only_accounting_hierarchies_without_limits_needing_others() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(8);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    let mut dirs: Vec<String> = cg
        .paths()
        .iter()
        .map(|p| p.strip_prefix(tmp.path()).unwrap().display().to_string())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "cpuacct/caller/stockade-4242-777-0",
            "memory/caller/stockade-4242-777-0",
            "pids/caller/stockade-4242-777-0",
        ]
    );
}

#[test]
fn v1_required_refuses_what_only_v2_can_do() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.memory_max = Some(1 << 30);
    p.memory_high = Some(1 << 29);
    let (log, res) = create(&tmp, &layout, &p);
    let err = res.unwrap_err().to_string();
    assert!(
        err.contains("resources.memory-high: memory.high has no cgroup v1"),
        "{err}"
    );
    assert!(err.contains("cgroup v2"), "{err}");
    assert!(log.writes().is_empty());
}

#[test]
fn v1_missing_hierarchy_and_unwritable_hierarchy() {
    let tmp = TempDir::new();
    let mut layout = v1_host(&tmp);
    layout.v1.retain(|h| !h.has("pids"));
    layout.v1[0].writable = false; // memory
    let mut p = plan();
    p.compat = Compat::BestEffort;
    p.pids_max = Some(3);
    p.memory_max = Some(1 << 20);
    let (_, res) = create(&tmp, &layout, &p);
    let (_cg, missing) = res.unwrap();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert_eq!(
        _cg.outcome().version,
        Some(1),
        "the cpuacct leaf still accounts CPU time"
    );
    assert!(missing[0].contains("memory") && missing[0].contains("not delegated"));
    assert!(missing[1].contains("no cgroup v1 hierarchy with the `pids` controller"));
}

#[test]
fn v1_best_effort_with_nothing_writable_is_inert() {
    let tmp = TempDir::new();
    let mut layout = v1_host(&tmp);
    for h in &mut layout.v1 {
        h.writable = false;
    }
    let mut p = plan();
    p.compat = Compat::BestEffort;
    p.memory_max = Some(1 << 20);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert_eq!(missing.len(), 1);
    assert!(cg.paths().is_empty());
    assert_eq!(cg.outcome().version, None);
    assert!(log.writes().is_empty());
}

#[test]
fn destroy_kills_remaining_processes_first() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(8);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    tmp.file(
        "pids/caller/stockade-4242-777-0/cgroup.procs",
        "9001\n9002\n",
    );
    cg.destroy().unwrap();
    assert_eq!(log.kills(), [9001, 9002]);
    assert!(!tmp.path().join("pids/caller/stockade-4242-777-0").exists());
}

#[test]
fn v2_destroy_prefers_cgroup_kill() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "pids", true);
    let mut p = plan();
    p.pids_max = Some(8);
    let (log, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    tmp.file("cg/svc/stockade-4242-777-0/cgroup.kill", "");
    // Something is left (rmdir refuses the leaf): it is killed through cgroup.kill.
    tmp.file("cg/svc/stockade-4242-777-0/cgroup.procs", "9001\n");
    cg.destroy().unwrap();
    assert!(!tmp.path().join("cg/svc/stockade-4242-777-0").exists());
    assert!(log
        .writes()
        .iter()
        .any(|w| *w == ("cg/svc/stockade-4242-777-0/cgroup.kill", "1")));
}

#[test]
fn gc_removes_only_empty_leaves_of_dead_owners() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "pids", true);
    tmp.file("cg/svc/stockade-1-100-0/cgroup.procs", ""); // dead owner, empty: removed
    tmp.file("cg/svc/stockade-2-200-0/cgroup.procs", ""); // live owner: kept
    tmp.file("cg/svc/stockade-3-300-0/cgroup.procs", "77\n"); // not empty: kept
    tmp.file("cg/svc/stockade-supervisor/cgroup.procs", ""); // not a leaf name: kept
    tmp.file("cg/svc/other/cgroup.procs", ""); // someone else's: kept
    let fs = TempFs::new(&tmp).alive(2, 200);
    assert_eq!(collect_garbage(&fs, &layout), 1);
    let mut left = tmp.subdirs("cg/svc");
    left.sort();
    assert_eq!(
        left,
        [
            "other",
            "stockade-2-200-0",
            "stockade-3-300-0",
            "stockade-supervisor"
        ]
    );
}

#[test]
fn outcome_reads_v2_events_and_usage() {
    let tmp = TempDir::new();
    let layout = v2_host(&tmp, "", "memory pids cpu", true);
    let mut p = plan();
    p.memory_max = Some(100 << 20);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    let leaf = "cg/svc/stockade-4242-777-0";
    tmp.file(
        &format!("{leaf}/memory.events"),
        "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
    );
    tmp.file(&format!("{leaf}/memory.peak"), "104857600\n");
    tmp.file(&format!("{leaf}/pids.events"), "max 0\n");
    tmp.file(
        &format!("{leaf}/cpu.stat"),
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 90\n",
    );
    let o = cg.outcome();
    assert_eq!(o.version, Some(2));
    assert!(o.oom_killed && !o.pids_limit_hit);
    assert_eq!(o.memory_limit_hits, Some(12));
    assert_eq!(o.memory_peak, Some(100 << 20));
    assert_eq!(
        (o.cpu_usage_us, o.cpu_user_us, o.cpu_system_us),
        (Some(1500), Some(1000), Some(500))
    );
    assert_eq!((o.throttled_periods, o.throttled_us), (Some(2), Some(90)));
    assert_eq!(
        exit_message(&o, &p, Some(libc::SIGKILL)).as_deref(),
        Some("payload killed by the kernel OOM killer (memory limit 100 MiB)")
    );
}

#[test]
fn outcome_reads_v1_events_and_usage() {
    let tmp = TempDir::new();
    let layout = v1_host(&tmp);
    let mut p = plan();
    p.pids_max = Some(64);
    p.cpu_quota_us = Some(10_000);
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, _) = res.unwrap();
    let l = "stockade-4242-777-0";
    tmp.file(
        &format!("memory/caller/{l}/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    );
    tmp.file(&format!("memory/caller/{l}/memory.failcnt"), "0\n");
    tmp.file(
        &format!("memory/caller/{l}/memory.max_usage_in_bytes"),
        "4096\n",
    );
    tmp.file(&format!("pids/caller/{l}/pids.events"), "max 17\n");
    tmp.file(&format!("cpuacct/caller/{l}/cpuacct.usage"), "2500000\n");
    tmp.file(
        &format!("cpuacct/caller/{l}/cpuacct.stat"),
        "user 20\nsystem 5\n",
    );
    tmp.file(
        &format!("cpu/caller/{l}/cpu.stat"),
        "nr_periods 9\nnr_throttled 3\nthrottled_time 4000\n",
    );
    let o = cg.outcome();
    assert_eq!(o.version, Some(1));
    assert!(!o.oom_killed && o.pids_limit_hit);
    assert_eq!(o.pids_limit_hits, 17);
    assert_eq!(o.memory_peak, Some(4096));
    assert_eq!(o.cpu_usage_us, Some(2500));
    let hz = clock_ticks();
    assert_eq!(o.cpu_user_us, Some(20 * 1_000_000 / hz));
    assert_eq!((o.throttled_periods, o.throttled_us), (Some(3), Some(4)));
}

const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

#[test]
fn detects_this_kind_of_hybrid_host() {
    let proc_cgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/api/x1\n2:cpuacct:/\n1:cpu:/\n0::/\n";
    let fs = TempFs::nowhere();
    let l = detect_with(&fs, HYBRID_MOUNTINFO, proc_cgroup);
    assert_eq!(l.kind, LayoutKind::Hybrid);
    assert_eq!(l.version(), Some(1));
    let mem = l.v1_hierarchy("memory").unwrap();
    assert_eq!(mem.base, Path::new("/sys/fs/cgroup/memory/api/x1"));
    assert_eq!(l.v1.len(), 4, "name=systemd carries no controller");
    assert!(l.describe().starts_with("cgroup v1 (hybrid): "));
}

#[test]
fn detects_pure_v2_and_steps_out_of_the_supervisor_leaf() {
    let mountinfo = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
    let fs = TempFs::nowhere();
    let l = detect_with(
        &fs,
        mountinfo,
        "0::/system.slice/vmtest-run.service/stockade-supervisor\n",
    );
    assert_eq!(l.kind, LayoutKind::Unified);
    let u = l.unified.unwrap();
    assert_eq!(
        u.base,
        Path::new("/sys/fs/cgroup/system.slice/vmtest-run.service")
    );
    let none = detect_with(&fs, "", "");
    assert_eq!(none.kind, LayoutKind::None);
    assert_eq!(none.describe(), "no cgroup filesystem mounted");
}

#[test]
fn detects_namespaced_mount_roots_and_escaped_paths() {
    // Inside a cgroup namespace the mount root is the namespace root, and paths are shown
    // relative to it; a mount whose root does not contain the cgroup is unusable.
    let mountinfo = "25 1 0:22 /outer /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n";
    let fs = TempFs::nowhere();
    let l = detect_with(&fs, mountinfo, "0::/outer/inner\n");
    assert_eq!(l.unified.unwrap().base, Path::new("/mnt/cg x/inner"));
    let l = detect_with(&fs, mountinfo, "0::/elsewhere\n");
    assert_eq!(l.kind, LayoutKind::None);
}

#[test]
fn no_cgroupfs_required_fails_best_effort_runs() {
    let tmp = TempDir::new();
    let layout = detect_with(&TempFs::nowhere(), "", "");
    let mut p = plan();
    p.cpu_quota_us = Some(1000);
    let (_, res) = create(&tmp, &layout, &p);
    assert!(res
        .unwrap_err()
        .to_string()
        .contains("no cgroup filesystem is mounted"));
    p.compat = Compat::BestEffort;
    let (_, res) = create(&tmp, &layout, &p);
    let (cg, missing) = res.unwrap();
    assert_eq!(missing, ["resources.cpu: no cgroup filesystem is mounted"]);
    assert!(cg.paths().is_empty());
}

#[test]
fn v1_advice_for_missing_delegation_does_not_promise_systemd_delegation_of_v1() {
    let tmp = TempDir::new();
    let mut layout = v1_host(&tmp);
    for h in &mut layout.v1 {
        h.writable = false;
    }
    let mut p = plan();
    p.pids_max = Some(10);
    let (_, res) = create(&tmp, &layout, &p);
    let err = res.unwrap_err().to_string();
    assert!(
        err.contains("cgroup v1 cannot be delegated by systemd"),
        "{err}"
    );
    assert!(err.contains("run as root"), "{err}");
    assert!(
        err.contains("resources.pids: the caller's `pids` cgroup"),
        "{err}"
    );
}
