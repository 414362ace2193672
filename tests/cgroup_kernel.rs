//! The cgroup module against the real kernel (v1 on the dev host, v2 in the vmtest VM):
//! limits are enforced, exit causes and usage are read back, cleanup and gc leave nothing.
//!
//! The payloads are this test binary itself, re-executed with `STOCKADE_CG_PAYLOAD=<mode>`
//! (no python or busybox needed inside the VM). A payload first blocks on stdin, so the
//! supervisor attaches it to the cgroup before it runs any payload code.
//!
//! Needs root or a delegated cgroup; otherwise each test prints `SKIP: ...` (a failure when
//! `STOCKADE_TEST_REQUIRE=1`). `STOCKADE_TEST_CGROUP_VERSION=2` makes the v2-only tests
//! fail instead of passing as not applicable (the VM driver sets it).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use stockade::cgroup::fs::{CgroupFs, HostFs};
use stockade::cgroup::gc::LeafName;
use stockade::cgroup::{detect, exit_message, Cgroup, CgroupError};
use stockade::plan::{Compat, ResourcePlan};

mod cgroup_support;

use cgroup_support::{ENTRY_ARGS, GATE_ENV, PAYLOAD_ENV};

fn skip(reason: &str) {
    if std::env::var("STOCKADE_TEST_REQUIRE").as_deref() == Ok("1") {
        panic!("required test skipped: {reason}");
    }
    eprintln!("SKIP: {reason}");
}

fn plan() -> ResourcePlan {
    ResourcePlan {
        compat: Compat::Required,
        memory_max: None,
        memory_high: None,
        memory_swap_max: None,
        cpu_quota_us: None,
        cpu_period_us: 100_000,
        cpu_weight: None,
        pids_max: None,
        io_weight: None,
        cpuset_cpus: None,
        cpuset_mems: None,
    }
}

/// Create the cgroup, or None (after `skip`) when this host/user cannot enforce the plan.
fn create(plan: &ResourcePlan) -> Option<Cgroup> {
    match Cgroup::create(plan) {
        Ok((cg, missing)) => {
            assert!(missing.is_empty(), "{missing:?}");
            Some(cg)
        }
        Err(e @ CgroupError::NotEnforceable { .. }) => {
            skip(&format!("{e}"));
            None
        }
        Err(e) => panic!("creating the cgroup failed: {e}"),
    }
}

/// Start a payload blocked on stdin.
fn spawn(mode: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(ENTRY_ARGS)
        .env(PAYLOAD_ENV, mode)
        .env(GATE_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Attach the payload, release it, wait for it. Returns (exit code, signal, RESULT line).
fn run_in(cg: &Cgroup, mut child: Child) -> (Option<i32>, Option<i32>, String) {
    use std::os::unix::process::ExitStatusExt;
    cg.attach(child.id() as i32).unwrap();
    child.stdin.take().unwrap().write_all(b"go").unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let st = child.wait().unwrap();
    let result = cgroup_support::result_of(&out).unwrap_or_default();
    (st.code(), st.signal(), result)
}

#[test]
fn oom_kill_is_enforced_and_reported() {
    let mut p = plan();
    p.memory_max = Some(100 << 20);
    let Some(cg) = create(&p) else { return };
    let (_, signal, result) = run_in(&cg, spawn("alloc"));
    let o = cg.outcome();
    cg.destroy().unwrap();
    assert_eq!(
        signal,
        Some(libc::SIGKILL),
        "payload got past the limit: {result}"
    );
    assert!(o.oom_killed, "{o:?}");
    let peak = o.memory_peak.expect("peak memory is reported");
    assert!(peak <= 100 << 20, "peak {peak} above the limit");
    assert!(peak > 50 << 20, "peak {peak}: the payload barely allocated");
    let msg = exit_message(&o, &p, signal).unwrap();
    assert_eq!(
        msg,
        "payload killed by the kernel OOM killer (memory limit 100 MiB)"
    );
}

#[test]
fn fork_bomb_stops_at_the_pids_limit_and_is_cleaned_up() {
    let mut p = plan();
    p.pids_max = Some(64);
    let Some(cg) = create(&p) else { return };
    let (code, _, result) = run_in(&cg, spawn("forkbomb"));
    assert_eq!(code, Some(0));
    let forked: u64 = result.trim().parse().unwrap();
    // The payload itself counts against the limit; its children sleep until killed.
    assert!(forked < 64, "forked {forked} processes under pids = 64");
    assert!(forked > 0);
    let o = cg.outcome();
    assert!(o.pids_limit_hit, "{o:?}");
    let msg = exit_message(&o, &p, None).unwrap();
    assert!(msg.contains("pids limit (64 processes)"), "{msg}");
    let paths = cg.paths();
    let procs: Vec<String> = paths
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .collect();
    assert!(
        procs.iter().any(|s| !s.trim().is_empty()),
        "sleepers gone early"
    );
    cg.destroy().unwrap();
    for d in paths {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    // The host is unaffected: we can still start processes.
    assert!(Command::new("true").status().unwrap().success());
}

#[test]
fn cpu_quota_of_half_a_core() {
    let mut p = plan();
    p.cpu_quota_us = Some(50_000);
    // The highest weight, so that a busy shared host (other builds) does not starve the
    // payload below its quota: the measurement is about the quota, not about contention.
    p.cpu_weight = Some(10_000);
    let Some(cg) = create(&p) else { return };
    let start = Instant::now();
    let (code, _, _) = run_in(&cg, spawn("spin"));
    let wall_us = start.elapsed().as_micros() as f64;
    let o = cg.outcome();
    cg.destroy().unwrap();
    assert_eq!(code, Some(0));
    let used = o.cpu_usage_us.expect("cpu usage is reported") as f64;
    let ratio = used / wall_us;
    eprintln!("cpu = 0.5: used {used} us of CPU in {wall_us} us wall: {ratio:.2} cores; {o:?}");
    // Two processes want two full cores; the quota holds them to about half of one.
    assert!((0.3..=0.7).contains(&ratio), "{ratio:.2} cores");
    assert!(o.throttled_periods.unwrap_or(0) > 0, "{o:?}");
}

/// Leaves of supervisors killed with SIGKILL are removed by the next run; nothing named
/// stockade-* of ours remains after 100 runs.
#[test]
fn no_leaf_remains_after_100_runs_with_killed_supervisors() {
    let mut p = plan();
    p.pids_max = Some(16);
    let Some(probe) = create(&p) else { return };
    let bases: Vec<PathBuf> = probe
        .paths()
        .iter()
        .filter_map(|d| d.parent().map(PathBuf::from))
        .collect();
    probe.destroy().unwrap();
    let mut helper_pids = Vec::new();
    for i in 0..100 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(ENTRY_ARGS)
            .env(PAYLOAD_ENV, "supervisor")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        helper_pids.push(child.id());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("CREATED:") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "helper ended early");
        }
        // Non-vacuous: the helper's leaves are named after it.
        assert!(
            line.contains(&format!("/stockade-{}-", child.id())),
            "{line}"
        );
        if i % 3 == 0 {
            child.kill().unwrap(); // SIGKILL: no chance to clean up
        } else {
            drop(child.stdin.take()); // EOF: the helper destroys its cgroup and exits
        }
        child.wait().unwrap();
    }
    // The next run collects what the killed supervisors left.
    let (cg, _) = Cgroup::create(&p).unwrap();
    cg.destroy().unwrap();
    let fs = HostFs;
    let mut left = Vec::new();
    for b in &bases {
        for name in fs.subdirs(b).unwrap() {
            if let Some(l) = LeafName::parse(&name) {
                if helper_pids.contains(&l.pid) {
                    left.push(b.join(name));
                }
            }
        }
    }
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The leaf is created directly under the caller's cgroup (on v2: inside the systemd
/// unit's delegated cgroup, which the VM driver names in STOCKADE_TEST_EXPECT_CGROUP_UNDER).
#[test]
fn leaf_is_created_under_the_callers_cgroup() {
    let mut p = plan();
    p.pids_max = Some(32);
    let Some(cg) = create(&p) else { return };
    let layout = detect();
    let bases: Vec<PathBuf> = match &layout.unified {
        Some(u) if layout.version() == Some(2) => vec![u.base.clone()],
        _ => layout.v1.iter().map(|h| h.base.clone()).collect(),
    };
    let paths = cg.paths();
    assert!(!paths.is_empty());
    for leaf in &paths {
        let parent = leaf.parent().unwrap();
        assert!(
            bases.iter().any(|b| b == parent),
            "{} not under {bases:?}",
            leaf.display()
        );
        let name = leaf.file_name().unwrap().to_string_lossy();
        assert_eq!(
            LeafName::parse(&name).map(|l| l.pid),
            Some(std::process::id())
        );
    }
    if let Ok(under) = std::env::var("STOCKADE_TEST_EXPECT_CGROUP_UNDER") {
        for leaf in &paths {
            assert!(
                leaf.to_string_lossy().contains(&under),
                "{} not under {under}",
                leaf.display()
            );
        }
        // The caller's cgroup held processes (this test at least): they were moved into the
        // sibling supervisor leaf so that controllers could be enabled for the children.
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        assert!(own.trim_end().ends_with("/stockade-supervisor"), "{own}");
    }
    cg.destroy().unwrap();
    for leaf in &paths {
        assert!(!leaf.exists());
    }
}

/// On v2 the payload enters the leaf at clone time (clone3 CLONE_INTO_CGROUP).
#[test]
fn clone_into_cgroup_places_the_child_in_the_leaf() {
    let v2 = detect().version() == Some(2);
    if !v2 {
        if std::env::var("STOCKADE_TEST_CGROUP_VERSION").as_deref() == Ok("2") {
            panic!("expected a cgroup v2 host: {}", detect().describe());
        }
        eprintln!("not applicable: cgroup v1 host (clone3 CLONE_INTO_CGROUP is v2-only)");
        return;
    }
    let mut p = plan();
    p.pids_max = Some(8);
    let Some(cg) = create(&p) else { return };
    let fd = cg.clone_into_fd().expect("v2 leaf fd");
    let leaf = cg.paths()[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let own = clone3_and_read_cgroup(fd);
    cg.destroy().unwrap();
    assert!(
        own.trim_end().ends_with(&format!("/{leaf}")),
        "{own:?} not in {leaf}"
    );
}

/// clone3(CLONE_INTO_CGROUP) a child that execs `cat /proc/self/cgroup`; return its output.
fn clone3_and_read_cgroup(cgroup_fd: i32) -> String {
    #[repr(C)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let mut fds = [0i32; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let path = std::ffi::CString::new("/bin/cat").unwrap();
    let arg = std::ffi::CString::new("/proc/self/cgroup").unwrap();
    let argv = [path.as_ptr(), arg.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup_fd as u64,
    };
    // SAFETY: a fork-like clone3 (no CLONE_VM); the child only calls dup2/execve/_exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        unsafe {
            libc::dup2(fds[1], 1);
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    assert!(pid > 0, "clone3: {}", std::io::Error::last_os_error());
    unsafe { libc::close(fds[1]) };
    let mut out = String::new();
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    f.read_to_string(&mut out).unwrap();
    let mut status = 0;
    unsafe { libc::waitpid(pid as i32, &mut status, 0) };
    out
}

/// Without a delegated cgroup, an unprivileged user gets a refusal that says how to get
/// one (`required`), or a run without limits that lists them (`best-effort`).
#[test]
fn unprivileged_without_delegation_is_refused_with_advice() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        skip("needs root to switch to uid 65534");
        return;
    }
    let out = unsafe {
        Command::new(std::env::current_exe().unwrap())
            .args(ENTRY_ARGS)
            .env(PAYLOAD_ENV, "try-create")
            .stdin(Stdio::null())
            .pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
            .output()
            .unwrap()
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let required = text
        .lines()
        .find_map(|l| l.strip_prefix("REQUIRED:"))
        .expect("REQUIRED line");
    let best = text
        .lines()
        .find_map(|l| l.strip_prefix("BEST-EFFORT:"))
        .expect("BEST-EFFORT line");
    assert!(
        required.starts_with("err: cannot enforce [resources]"),
        "{required}"
    );
    assert!(required.contains("resources.memory"), "{required}");
    // On v1 and v2 alike the advice names the systemd-run command (on v1: for a v2 host).
    assert!(
        required.contains("systemd-run --user --scope -p Delegate=yes stockade run"),
        "{required}"
    );
    assert!(
        best.starts_with("ok: paths=[] not-enforced=[\"resources.memory: "),
        "{best}"
    );
}

/// Not a test: the payloads and helper supervisors, selected by `STOCKADE_CG_PAYLOAD`.
#[test]
fn payload_entry() {
    let Ok(mode) = std::env::var(PAYLOAD_ENV) else {
        return;
    };
    if mode == "supervisor" {
        let mut p = plan();
        p.pids_max = Some(16);
        let (cg, _) = Cgroup::create(&p).unwrap();
        println!("CREATED:{:?}", cg.paths());
        std::io::stdout().flush().unwrap();
        let mut buf = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut buf);
        cg.destroy().unwrap();
        std::process::exit(0);
    }
    if mode == "try-create" {
        let mut p = plan();
        p.memory_max = Some(64 << 20);
        for (label, compat) in [
            ("REQUIRED", Compat::Required),
            ("BEST-EFFORT", Compat::BestEffort),
        ] {
            p.compat = compat;
            match Cgroup::create(&p) {
                Ok((cg, missing)) => {
                    println!(
                        "{label}:ok: paths={:?} not-enforced={missing:?}",
                        cg.paths()
                    )
                }
                Err(e) => println!("{label}:err: {}", e.to_string().replace('\n', " | ")),
            }
        }
        std::process::exit(0);
    }
    cgroup_support::run_payload(&mode);
}
